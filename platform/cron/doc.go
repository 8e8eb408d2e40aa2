// Package cron runs the program's periodic jobs (for example "check-all"
// every 5 minutes) on every replica, while making sure each run happens once
// per cluster.
//
// # Why not gocron
//
// We write this small scheduler ourselves instead of using gocron because
// two properties matter more to us than a rich scheduling vocabulary:
//
//   - Runs are aligned to UTC multiples of the period: a job that runs every
//     5 minutes runs at :00, :05, :10, … on every replica, whenever the
//     process started. That gives all replicas the same tick for the same
//     run, so
//   - each tick can be claimed once cluster-wide: before running, a replica
//     claims (job, tick) through a [Locker]; exactly one replica wins and the
//     others count the tick as skipped. [NATSLocker] claims by creating the
//     key job.tick in a JetStream key-value bucket; [LocalLocker] does the
//     same in memory for a single process.
//
// With an elector or a per-run distributed lock, the winner of a tick depends
// on when each replica's timer happens to fire; with aligned ticks the claim
// key names the run itself, so a slow replica can never run a tick again
// after a fast one finished it.
//
// # Timing
//
// A job's first run is at the first tick after Start: a 5-minute job started
// at 10:02:17 first runs at 10:05:00. Each job has one goroutine that sleeps on a timer computed from
// [Config.Now] until the next aligned tick (never longer than a minute at a
// time, so a wall-clock change is noticed promptly). Because it uses plain
// timers it runs unchanged under testing/synctest's virtual time.
//
// When the wall clock jumps forward past several ticks, the job fires once,
// for the latest tick, and realigns; it does not replay the missed ticks.
// When the wall clock goes back past the last tick, the job realigns to the
// new time; a tick that was already run is then refused by the Locker (as
// long as the Locker still remembers it).
//
// A run never overlaps the previous run of the same job in this process: a
// tick that finds the job still running is skipped (before claiming, so
// another replica may take it) and counted.
//
// # Metrics
//
//   - upmon_cron_runs_total{job,result="ok|error"}
//   - upmon_cron_skipped_total{job,reason="running|claimed|lock_error"}
//   - upmon_cron_last_run_timestamp_seconds{job} (when the last run finished)
package cron
