package main

import (
	"fmt"
	"io"
)

type reportConfig struct {
	Label        string  `json:"label,omitempty"`
	Sites        int     `json:"sites"`
	Interval     string  `json:"interval"`
	Duration     string  `json:"duration"`
	Timeout      string  `json:"timeout"`
	HangFraction float64 `json:"hang_fraction"`
	Flip         int     `json:"flip"`
	SlackDelay   string  `json:"slack_delay"`
	Reuse        bool    `json:"reuse_connections"`
	DB           string  `json:"db"`
	UpmonArgs    string  `json:"upmon_args,omitempty"`
}

type apiTiming struct {
	N        int     `json:"n"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	MaxMS    float64 `json:"max_ms"`
	Bytes    int64   `json:"bytes"`
	Errors   int     `json:"errors"`
}

type notifyReport struct {
	Outages     int  `json:"outages"`
	Received    int  `json:"received"`
	DownLatency dist `json:"down_latency_s"` // flipped down → "is down!" received
	UpLatency   dist `json:"up_latency_s"`   // flipped up → "is back up." received
	HangLatency dist `json:"hang_latency_s"` // started hanging → "is down!" received
	LostDown    int  `json:"lost_down"`
	LostUp      int  `json:"lost_up"`
	LostHang    int  `json:"lost_hang"`
	Duplicates  int  `json:"duplicates"`
	Phantom     int  `json:"phantom"`
	Unparsed    int  `json:"unparsed"`
}

type report struct {
	Config reportConfig `json:"config"`
	Add    struct {
		Seconds    float64 `json:"seconds"`
		PerSecond  float64 `json:"per_second"`
		CPUSeconds float64 `json:"cpu_seconds"`
		PeakRSSMB  float64 `json:"peak_rss_mb"`
		// AllCheckedSeconds is from the first POST /site until every
		// new site has had its immediate first check.
		AllCheckedSeconds float64 `json:"all_checked_s"`
	} `json:"add"`
	FirstRound struct {
		StartupSeconds    float64 `json:"startup_s"`
		FromStart         dist    `json:"first_check_s"` // process start → first check of each site
		AllCheckedSeconds float64 `json:"all_checked_s"`
		WithinInterval    bool    `json:"within_interval"`
		NotChecked        int     `json:"not_checked"`
	} `json:"first_round"`
	Window struct {
		Seconds             float64 `json:"seconds"`
		ExpectedPerSecond   float64 `json:"expected_per_s"`
		StoredPerSecond     float64 `json:"stored_per_s"`
		TargetHitsPerSecond float64 `json:"target_hits_per_s"`
		RateRatio           float64 `json:"rate_ratio"`
		CPUSeconds          float64 `json:"cpu_s"`
		CPUCores            float64 `json:"cpu_cores"`
		CPUPer1000Checks    float64 `json:"cpu_s_per_1000_checks"`
		// PGCPUSeconds is the CPU time of the PostgreSQL backends
		// serving upmon's database in the window (--db postgres).
		PGCPUSeconds       float64 `json:"pg_cpu_s,omitempty"`
		PGCPUPer1000Checks float64 `json:"pg_cpu_s_per_1000_checks,omitempty"`
		// BusiestSecondRatio is the busiest whole second's target hits
		// divided by the mean hits per second (1 = flat).
		BusiestSecondRatio float64 `json:"busiest_second_ratio"`
		PeakRSSMB          float64 `json:"peak_rss_mb"`
		WindowRSSMB        float64 `json:"window_peak_rss_mb"` // VmHWM at the window's end, before the API timings
		MaxFDs             int     `json:"max_fds"`
		MaxThreads         int     `json:"max_threads"`
		SchedulerLagP50    float64 `json:"scheduler_lag_p50_bucket_s"`
		SchedulerLagP99    float64 `json:"scheduler_lag_p99_bucket_s"`
		// DBStalls counts the database calls cut off by --db-timeout in
		// the window (upmon_db_stalls_total, summed over the replicas).
		DBStalls float64 `json:"db_stalls"`
		// PerInterval is the stored rate of each check interval of the
		// window, summed over the replicas.
		PerInterval []intervalRate `json:"per_interval,omitempty"`
	} `json:"window"`
	Lag struct {
		All        dist `json:"all"`
		FirstHalf  dist `json:"first_half"`
		SecondHalf dist `json:"second_half"`
		Early      int  `json:"early"` // intervals more than 1 s short
	} `json:"lag_s"` // actual interval − configured, non-hanging sites, seen by the targets
	Notify notifyReport `json:"notifications"`
	API    struct {
		Site       apiTiming `json:"get_site"`
		Status     apiTiming `json:"get_status"`
		SitePage   apiTiming `json:"get_site_page"`
		StatusPage apiTiming `json:"get_status_page"`
		Dashboard  apiTiming `json:"dashboard_overview"`
	} `json:"api"`
	// Replicas are the upmon processes of the window, the main one first
	// (PostgreSQL runs); the Window's CPU and rate are their sums.
	Replicas []replicaFigures `json:"replicas,omitempty"`
	// DB is the CPU of the PostgreSQL backends serving the run's
	// database in the window (pgCPU: sampled every 500 ms, so backends
	// that come and go count too; the server's background processes do
	// not), the same reading as Window.PGCPUSeconds.
	DB struct {
		CPUSeconds float64 `json:"cpu_s"`
		Cores      float64 `json:"cores"`
		Backends   int     `json:"backends"`
	} `json:"db"`
	Storage struct {
		MonitorDBBytes int64 `json:"monitor_db_bytes,omitempty"`
		SiteDBBytes    int64 `json:"site_db_bytes,omitempty"`
	} `json:"storage"`
	// Machine is the whole machine during the window: other processes on
	// the same cores disturb the figures.
	Machine struct {
		LoadStart  float64 `json:"loadavg_start"`
		LoadEnd    float64 `json:"loadavg_end"`
		BusyCores  float64 `json:"busy_cores"`
		ToolCores  float64 `json:"tool_cores"`
		OtherCores float64 `json:"other_cores"`
	} `json:"machine"`
	Tool struct {
		CPUSeconds float64 `json:"cpu_s"`
	} `json:"tool"`
}

func (r *report) print(w io.Writer) {
	c := r.Config
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("upmon-load %s: %d sites every %s, db=%s, reuse_connections=%v, hang=%.0f%%, flip=%d, slack delay=%s, timeout=%s %s",
		c.Label, c.Sites, c.Interval, c.DB, c.Reuse, c.HangFraction*100, c.Flip, c.SlackDelay, c.Timeout, c.UpmonArgs)
	p("  bulk add          %.1f s (%.0f sites/s), all first-checked after %.1f s; upmon CPU %.1f s, peak RSS %.0f MB",
		r.Add.Seconds, r.Add.PerSecond, r.Add.AllCheckedSeconds, r.Add.CPUSeconds, r.Add.PeakRSSMB)
	f := r.FirstRound
	p("  cold start        healthy after %.2f s; first check of each site: p50 %.1f s, max %.1f s (within interval: %v, never: %d)",
		f.StartupSeconds, f.FromStart.P50, f.FromStart.Max, f.WithinInterval, f.NotChecked)
	wd := r.Window
	p("  window            %.0f s: expected %.1f checks/s, stored %.1f/s (ratio %.3f), target hits %.1f/s",
		wd.Seconds, wd.ExpectedPerSecond, wd.StoredPerSecond, wd.RateRatio, wd.TargetHitsPerSecond)
	if len(wd.PerInterval) > 0 {
		lo, hi := wd.PerInterval[0].StoredPerSecond, wd.PerInterval[0].StoredPerSecond
		rates := ""
		for _, iv := range wd.PerInterval {
			lo, hi = min(lo, iv.StoredPerSecond), max(hi, iv.StoredPerSecond)
			rates += fmt.Sprintf(" %.0f", iv.StoredPerSecond)
		}
		p("  per interval      stored checks/s, min %.1f (ratio %.3f), max %.1f:%s", lo, lo/wd.ExpectedPerSecond, hi, rates)
	}
	p("  CPU               %.1f s = %.2f cores; %.3f CPU s per 1,000 checks (upmon, all replicas); %.0f database calls cut off (--db-timeout)",
		wd.CPUSeconds, wd.CPUCores, wd.CPUPer1000Checks, wd.DBStalls)
	if len(r.Replicas) == 0 {
		p("  memory            peak RSS %.0f MB at the window's end (VmHWM, before the API timings)", wd.WindowRSSMB)
	}
	for i, rf := range r.Replicas {
		p("    replica %d       %.1f CPU s = %.2f cores, %.1f stored checks/s, %.3f CPU s per 1,000 of its checks, peak RSS %.0f MB",
			i+1, rf.CPUSeconds, rf.Cores, rf.StoredPerSecond, rf.CPUPer1000Checks, rf.PeakRSSMB)
	}
	if c.DB == "postgres" {
		p("  PostgreSQL CPU    %.1f s = %.2f cores (%d backends of upmon's database); %.3f CPU s per 1,000 checks",
			wd.PGCPUSeconds, r.DB.Cores, r.DB.Backends, wd.PGCPUPer1000Checks)
	}
	p("  flatness          busiest second carries %.2f× the mean rate of target hits", wd.BusiestSecondRatio)
	l := r.Lag
	p("  schedule lag      actual−configured interval: p50 %+.3f s, p99 %+.3f s, max %+.3f s, min %+.3f s (n=%d, >1 s early %d)", l.All.P50, l.All.P99, l.All.Max, l.All.Min, l.All.N, l.Early)
	p("                    first half p99 %+.3f s, second half p99 %+.3f s; scheduler's own start lag p50 ≤%gs, p99 ≤%gs",
		l.FirstHalf.P99, l.SecondHalf.P99, wd.SchedulerLagP50, wd.SchedulerLagP99)
	n := r.Notify
	p("  notifications     %d outages, %d received; lost down %d, lost up %d, lost hang %d; duplicates %d, phantom %d",
		n.Outages, n.Received, n.LostDown, n.LostUp, n.LostHang, n.Duplicates, n.Phantom)
	p("  detection         down→notified p50 %.2f s, p99 %.2f s, max %.2f s (n=%d); up→notified p50 %.2f s, p99 %.2f s",
		n.DownLatency.P50, n.DownLatency.P99, n.DownLatency.Max, n.DownLatency.N, n.UpLatency.P50, n.UpLatency.P99)
	if n.HangLatency.N > 0 {
		p("                    hang→notified p50 %.2f s, p99 %.2f s, max %.2f s (n=%d)", n.HangLatency.P50, n.HangLatency.P99, n.HangLatency.Max, n.HangLatency.N)
	}
	p("  API               GET /site median %.1f ms p90 %.1f ms (%d KB); GET /status median %.1f ms p90 %.1f ms (%d KB); errors %d",
		r.API.Site.MedianMS, r.API.Site.P90MS, r.API.Site.Bytes>>10, r.API.Status.MedianMS, r.API.Status.P90MS, r.API.Status.Bytes>>10,
		r.API.Site.Errors+r.API.Status.Errors)
	p("                    pages of 100: GET /site?limit=100 median %.1f ms (%d KB); GET /status?limit=100 median %.1f ms (%d KB); dashboard /frontend/ median %.1f ms p90 %.1f ms (%d KB); errors %d",
		r.API.SitePage.MedianMS, r.API.SitePage.Bytes>>10, r.API.StatusPage.MedianMS, r.API.StatusPage.Bytes>>10,
		r.API.Dashboard.MedianMS, r.API.Dashboard.P90MS, r.API.Dashboard.Bytes>>10,
		r.API.SitePage.Errors+r.API.StatusPage.Errors+r.API.Dashboard.Errors)
	if r.Storage.MonitorDBBytes > 0 {
		p("  storage           monitor.db* %.1f MB, site.db* %.1f MB", float64(r.Storage.MonitorDBBytes)/1e6, float64(r.Storage.SiteDBBytes)/1e6)
	}
	p("  machine           load average %.1f → %.1f; busy %.2f cores in the window: upmon %.2f, this tool %.2f, other processes %.2f",
		r.Machine.LoadStart, r.Machine.LoadEnd, r.Machine.BusyCores, r.Window.CPUCores, r.Machine.ToolCores, r.Machine.OtherCores)
	p("  load tool CPU     %.1f s in all (shares the cores)", r.Tool.CPUSeconds)
}

// replicaFigures are one upmon process's share of the window.
type replicaFigures struct {
	CPUSeconds       float64 `json:"cpu_s"`
	Cores            float64 `json:"cores"`
	StoredPerSecond  float64 `json:"stored_per_s"`
	CPUPer1000Checks float64 `json:"cpu_s_per_1000_checks"`
	PeakRSSMB        float64 `json:"window_peak_rss_mb"` // VmHWM at the window's end
}
