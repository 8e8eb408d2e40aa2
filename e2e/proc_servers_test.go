//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Fault tests stop and restart their own nats-server and PostgreSQL, never
// the shared ones other tests use.

// envRequireAll makes missing server binaries a failure instead of a skip
// (.ci/run sets it).
const envRequireAll = "UPMON_TEST_REQUIRE_ALL"

// requireOrSkip skips t with msg, or fails it when envRequireAll is 1.
func requireOrSkip(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv(envRequireAll) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", msg, envRequireAll)
	}
	t.Skip("skipping: " + msg)
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// natsServer is a private nats-server with JetStream on a loopback port,
// storing in a temp dir that outlives its restarts.
type natsServer struct {
	bin  string
	port int
	dir  string
	conf string // a configuration file, for cluster nodes
	// Name is the server name (cluster nodes only).
	Name string
	// URL is the client URL.
	URL    string
	cmd    *exec.Cmd
	out    *procLog
	exited chan struct{}
}

// natsServerBinary returns the nats-server binary, or skips t.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if !fileExists(bin) {
		p, err := exec.LookPath("nats-server")
		if err != nil {
			requireOrSkip(t, "nats-server is not installed (apt-get install nats-server)")
		}
		bin = p
	}
	return bin
}

// startPrivateNATS starts a private nats-server, stopped when t ends.
func startPrivateNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{bin: natsServerBinary(t), port: freePort(t), dir: t.TempDir()}
	n.URL = "nats://127.0.0.1:" + strconv.Itoa(n.port)
	n.cleanup(t)
	n.Start(t)
	return n
}

func (n *natsServer) cleanup(t *testing.T) {
	t.Cleanup(func() {
		n.Stop(t)
		if t.Failed() {
			t.Logf("--- nats-server %s output:\n%s", n.Name, n.out.String())
		}
	})
}

// natsClusterConf is a cluster node's configuration: the shape of the
// example in docs/deploy.md, on loopback ports.
const natsClusterConf = `server_name: %s
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
}
cluster {
  name: upmon
  listen: 127.0.0.1:%d
  routes: [%s]
}
`

// startPrivateNATSCluster starts an n-node private NATS cluster with
// JetStream, stopped when t ends, and waits for its meta leader.
func startPrivateNATSCluster(t *testing.T, n int) []*natsServer {
	t.Helper()
	bin := natsServerBinary(t)
	clusterPorts := make([]int, n)
	var routes []string
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(clusterPorts[i]))
	}
	nodes := make([]*natsServer, n)
	for i := range n {
		node := &natsServer{bin: bin, port: freePort(t), dir: t.TempDir(), Name: "node-" + strconv.Itoa(i)}
		node.URL = "nats://127.0.0.1:" + strconv.Itoa(node.port)
		node.conf = filepath.Join(node.dir, "nats.conf")
		conf := fmt.Sprintf(natsClusterConf, node.Name, node.port, filepath.Join(node.dir, "js"), clusterPorts[i], strings.Join(routes, ", "))
		if err := os.WriteFile(node.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		node.cleanup(t)
		node.launch(t)
		nodes[i] = node
	}
	for _, node := range nodes {
		node.waitReady(t, 60*time.Second)
	}
	return nodes
}

// Start starts the server (again) on its port and store, and waits until
// JetStream answers.
func (n *natsServer) Start(t *testing.T) {
	t.Helper()
	n.launch(t)
	n.waitReady(t, 30*time.Second)
}

// launch starts the process.
func (n *natsServer) launch(t *testing.T) {
	t.Helper()
	if n.out == nil {
		n.out = &procLog{url: make(chan string, 1)}
	}
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", n.dir}
	if n.conf != "" {
		args = []string{"-c", n.conf}
	}
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	n.exited = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	exited, cmd := n.exited, n.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
}

// waitReady waits until JetStream answers on the server.
func (n *natsServer) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := jetStreamReady(n.URL); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("nats-server %s on port %d not ready: %v\n%s", n.Name, n.port, err, n.out.String())
		}
		select {
		case <-n.exited:
			t.Fatalf("nats-server %s exited: %v\n%s", n.Name, n.cmd.ProcessState, n.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func jetStreamReady(url string) error {
	nc, err := nats.Connect(url, nats.Timeout(time.Second), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// Stop stops the server (SIGTERM, SIGKILL after 10 s) if it runs.
func (n *natsServer) Stop(t *testing.T) {
	t.Helper()
	if n.cmd == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// pgCluster is a private PostgreSQL cluster (initdb in a temp dir) on a
// loopback port.
type pgCluster struct {
	bin   string   // directory of initdb, pg_ctl
	runAs []string // prefix running a command as the cluster's owner
	dir   string
	port  int
	// URL is a connection URL for the cluster's postgres database.
	URL string
}

// postgresBinDir returns the directory holding initdb and pg_ctl, or "".
func postgresBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(matches, func(a, b string) int { return pgVersion(a) - pgVersion(b) })
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil && fileExists(filepath.Join(filepath.Dir(p), "pg_ctl")) {
		return filepath.Dir(p)
	}
	return ""
}

// pgVersion is the major version in a /usr/lib/postgresql/N/bin path.
func pgVersion(p string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return v
}

// startPrivatePostgres creates and starts a private cluster, stopped and
// removed when t ends. PostgreSQL refuses to run as root, so as root the
// cluster belongs to the postgres user (through runuser).
func startPrivatePostgres(t *testing.T) *pgCluster {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		requireOrSkip(t, "PostgreSQL server binaries (initdb, pg_ctl) are not installed")
	}
	c := &pgCluster{bin: bin, port: freePort(t)}
	dir, err := os.MkdirTemp("", "upmon-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			requireOrSkip(t, "running as root and there is no postgres user to own a private PostgreSQL cluster")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			requireOrSkip(t, "running as root without runuser to start PostgreSQL as the postgres user")
		}
		c.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	c.URL = "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.port) + "/postgres?sslmode=disable"
	c.run(t, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	t.Cleanup(func() {
		c.ctl(t, "stop", "-m", "immediate")
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			t.Logf("--- PostgreSQL log:\n%s", b)
		}
	})
	c.Start(t)
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the cluster's binaries as its owner.
func (c *pgCluster) run(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	argv := append(append(append([]string(nil), c.runAs...), filepath.Join(c.bin, name)), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil && name == "initdb" {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out, err
}

// ctl runs pg_ctl with args; failures are logged, not fatal (stopping a
// stopped cluster is fine).
func (c *pgCluster) ctl(t *testing.T, args ...string) error {
	t.Helper()
	out, err := c.run(t, "pg_ctl", append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)...)
	if err != nil {
		t.Logf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return err
}

// Start starts the cluster (again) and waits until it accepts connections.
func (c *pgCluster) Start(t *testing.T) {
	t.Helper()
	opts := "-p " + strconv.Itoa(c.port) + " -k " + c.dir +
		" -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
	if err := c.ctl(t, "-l", filepath.Join(c.dir, "log"), "-o", opts, "start"); err != nil {
		t.Fatalf("start PostgreSQL on port %d failed", c.port)
	}
}

// Stop stops the cluster the way pg_ctlcluster stop does (fast: running
// transactions are rolled back, clients disconnected).
func (c *pgCluster) Stop(t *testing.T) {
	t.Helper()
	if err := c.ctl(t, "stop", "-m", "fast"); err != nil {
		t.Fatalf("stop PostgreSQL failed")
	}
}
