#!/usr/bin/env python3
"""Side-by-side benchmark: pgconn_exporter against Debian's prometheus-postgres-exporter.

Started by bench/run.sh once PostgreSQL is up; standard library only. For every client
connection level it starts one pg_hold process (the held application sessions), then runs
the same scenarios against each exporter, one after the other, on that same server:

  1. start the exporter, wait until it reports the server up
  2. N sequential scrapes with curl (one keep-alive connection, Prometheus' headers)
     -> latency p50/p99, CPU and RSS
  3. more scrapes until 10,000 in total (2 curl processes) -> RSS, CPU per 1,000 scrapes
  4. wrk with 4 then 64 connections -> throughput, latency, errors
  while a sampler counts the exporter's sessions in pg_stat_activity, the server log
  counts the connections it opens (log_connections) and pg_stat_statements sums the
  server time of its statements (filtered by the exporter's role).

Then the fleet scenario (pgconn_exporter alone) with 1, 50 and 200 targets.
Every loop is bounded in count and in time. Nothing here asserts: it reports.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024.0 * 1024.0

# What Prometheus 2.42 sends on every scrape.
PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROM_HEADERS = [
    ("Accept", PROM_ACCEPT),
    ("Accept-Encoding", "gzip"),
    ("User-Agent", "Prometheus/2.42.0"),
    ("X-Prometheus-Scrape-Timeout-Seconds", "10"),
]

WARMUP_SCRAPES = 20  # per measured series of sequential scrapes, same connection, not counted
STARTED = []  # every exporter started, so main() can stop any that an error left behind
OURS = "pgconn_exporter"
THEIRS = "postgres_exporter"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------- /proc readings

def _stat_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14, 15)


def proc_cpu_seconds(pid, ticks=False):
    """CPU time of the process. utime+stime of /proc/PID/stat count in 10 ms ticks, too
    coarse for 1,000 cached scrapes, so this sums the nanosecond run times of the live
    threads (/proc/PID/task/*/schedstat) and falls back to the ticks if that fails. Both
    exporters keep their threads for their whole life, so no exited thread is missed."""
    if ticks:
        return _stat_cpu_seconds(pid)
    try:
        total_ns = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total_ns += int(f.read().split()[0])
        return total_ns / 1e9
    except (OSError, ValueError, IndexError):
        return _stat_cpu_seconds(pid)


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def proc_rss_anon_bytes(pid):
    """Private anonymous memory (heap, stacks): RSS without shared library pages."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return None


def proc_pss_bytes(pid):
    """Proportional set size: shared library pages divided among the processes mapping them."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return None


def proc_threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


# ---------------------------------------------------------------- PostgreSQL access

class Psql:
    """One persistent psql session (superuser, private Unix socket)."""

    _SEP = "\x1f"

    def __init__(self, pgbin, sockdir, port):
        self.proc = subprocess.Popen(
            [os.path.join(pgbin, "psql"), "-X", "-q", "-A", "-t", "-F", self._SEP,
             "-h", sockdir, "-p", str(port), "-U", "postgres", "-d", "postgres"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)
        self.counter = 0
        self.lock = threading.Lock()

    def query(self, sql, timeout=30):
        with self.lock:
            self.counter += 1
            marker = f"__bench_end_{self.counter}__"
            self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + marker + "\n")
            self.proc.stdin.flush()
            rows, errors = [], []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = self.proc.stdout.readline()
                if line == "":
                    raise RuntimeError("psql exited")
                line = line.rstrip("\n")
                if line == marker:
                    break
                if line.startswith(("ERROR:", "FATAL:", "psql:")):
                    errors.append(line)
                elif line:
                    rows.append(line.split(self._SEP))
            if errors:
                raise RuntimeError(f"SQL failed: {sql.strip()[:80]}: {' '.join(errors)}")
            return rows

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


class SessionSampler(threading.Thread):
    """Counts each role's sessions in pg_stat_activity every `period` seconds."""

    def __init__(self, psql, roles, period=0.25):
        super().__init__(daemon=True)
        self.psql, self.roles, self.period = psql, roles, period
        self.samples = {r: [] for r in roles}
        self.stop_event = threading.Event()
        self.pause = threading.Event()

    def reset(self):
        for r in self.roles:
            self.samples[r] = []

    def run(self):
        in_list = ",".join(f"'{r}'" for r in self.roles)
        while not self.stop_event.wait(self.period):
            if self.pause.is_set():
                continue
            try:
                rows = self.psql.query(
                    f"SELECT usename, count(*) FROM pg_stat_activity "
                    f"WHERE usename IN ({in_list}) GROUP BY 1", timeout=10)
            except Exception as e:  # noqa: BLE001 - a missed sample is not fatal
                log(f"sampler: {e}")
                continue
            counts = {r: 0 for r in self.roles}
            for name, count in rows:
                counts[name] = int(count)
            for r in self.roles:
                self.samples[r].append(counts[r])

    def summary(self, role):
        s = self.samples[role]
        if not s:
            return {"max": None, "min": None, "median": None, "samples": 0}
        return {"max": max(s), "min": min(s), "median": statistics.median(s), "samples": len(s)}


def count_authorized(log_path, offset, role):
    """Connections `role` opened since byte `offset` of the server log."""
    needle = f"connection authorized: user={role} "
    n = 0
    with open(log_path, "r", errors="replace") as f:
        f.seek(offset)
        for line in f:
            if needle in line:
                n += 1
    return n


def log_size(log_path):
    return os.path.getsize(log_path)


def server_time(psql, role):
    """(calls, milliseconds) of every statement `role` ran since the last reset."""
    rows = psql.query(
        "SELECT coalesce(sum(s.calls),0), coalesce(sum(s.total_exec_time + s.total_plan_time),0) "
        "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
        f"WHERE r.rolname = '{role}'")
    return int(rows[0][0]), float(rows[0][1])


def poll_calls(psql, role):
    """How many polls `role` made: its activity aggregate runs once per poll (settings are
    read only when they changed since issue 15, so they no longer count polls)."""
    rows = psql.query(
        "SELECT coalesce(sum(s.calls),0) FROM pg_stat_statements s JOIN pg_roles r "
        f"ON r.oid = s.userid WHERE r.rolname = '{role}' "
        "AND s.query LIKE '%AS longest_query_seconds%FROM pg_stat_activity%'")
    return int(rows[0][0])


# ---------------------------------------------------------------- server CPU (/proc)
# pg_stat_statements sees executor and planner time only: not parsing, the protocol, the
# implicit transaction around each statement, nor the postmaster forking a child for each
# accept probe. The kernel's per-process run time sees all of it.

def _schedstat_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def backends_cpu_ns(pids):
    """Summed run time (ns) of the given single-threaded backends; a gone pid counts 0."""
    total = 0
    for pid in pids:
        try:
            total += _schedstat_ns(pid)
        except (OSError, ValueError, IndexError):
            pass
    return total


def postmaster_pid(psql):
    pid = int(psql.query("SELECT pg_backend_pid()")[0][0])
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[1])  # ppid (field 4)


def postmaster_cpu_s(pid):
    """Postmaster's own CPU plus its reaped children's (utime+stime+cutime+cstime, ticks):
    an accept probe's forked child exits within the probe, so its cost lands here."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK


def gss_probe(port):
    """One accept probe as pgconn_exporter sends it: connect, GSSENCRequest, read 1 byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall((8).to_bytes(4, "big") + (80877104).to_bytes(4, "big"))
        return s.recv(1)


def measure_probe_cost(args, psql, n=400):
    """Server CPU of one accept probe (postmaster fork + the child's life), from the
    postmaster's /proc/PID/stat over `n` probes in a row, minus an idle window as long."""
    pm = postmaster_pid(psql)
    t0, c0 = time.monotonic(), postmaster_cpu_s(pm)
    for _ in range(n):
        gss_probe(args.pg_port)
    elapsed, used = time.monotonic() - t0, postmaster_cpu_s(pm) - c0
    c1 = postmaster_cpu_s(pm)
    time.sleep(elapsed)
    idle = postmaster_cpu_s(pm) - c1
    return {"probes": n, "probe_wall_ms": elapsed * 1000 / n,
            "probe_server_cpu_ms": max(0.0, used - idle) * 1000 / n}


# ---------------------------------------------------------------- HTTP clients

def http_get(url, timeout=5.0):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


def curl_sequential(url, n, workdir, tag, warmup=0, prefix=()):
    """n scrapes over one keep-alive connection; returns [(http_code, seconds, bytes)].
    The first `warmup` scrapes go over the same connection (TCP handshake, first-touch page
    faults) and are not returned."""
    cfg = os.path.join(workdir, f"curl-{tag}.cfg")
    with open(cfg, "w") as f:
        for _ in range(n + warmup):
            f.write(f'url = "{url}"\noutput = "/dev/null"\n')
    cmd = list(prefix) + ["curl", "-s", "--max-time", "10", "-K", cfg,
           "-w", "%{http_code} %{time_total} %{size_download}\\n"]
    for k, v in PROM_HEADERS:
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=max(60, (n + warmup) * 0.5)).stdout
    results = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            results.append((int(parts[0]), float(parts[1]), int(parts[2])))
    return results[warmup:]


def curl_parallel(url, total, workers, workdir, tag):
    """`total` scrapes split over `workers` concurrent curl processes."""
    results = []
    lock = threading.Lock()

    def work(i, count):
        r = curl_sequential(url, count, workdir, f"{tag}-{i}")
        with lock:
            results.extend(r)

    threads = []
    per = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    for i, count in enumerate(per):
        if count:
            t = threading.Thread(target=work, args=(i, count))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    return results


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text.strip())
    return float(m.group(1)) * _UNIT[m.group(2)] if m else None


def run_wrk(url, connections, seconds, threads=2):
    cmd = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
           "-d", f"{seconds}s", "--timeout", "5s", "--latency"]
    for k, v in PROM_HEADERS:
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(url)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    out = proc.stdout
    res = {"connections": connections, "seconds": seconds, "raw": out.strip()}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    res["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    res["timeouts"] = int(m.group(4)) if m else 0
    return res


# ---------------------------------------------------------------- real-time priority

RT_PRIORITY = "10"


def rt_available():
    """SCHED_FIFO needs root, chrt, and the kernel's RT throttling left on (so a FIFO task
    can never take more than 95% of a CPU from the rest of the machine)."""
    try:
        with open("/proc/sys/kernel/sched_rt_runtime_us") as f:
            throttled = int(f.read()) >= 0
    except (OSError, ValueError):
        throttled = False
    return os.geteuid() == 0 and shutil.which("chrt") is not None and throttled


def set_fifo(pids, on):
    """Every thread of each pid to SCHED_FIFO (on) or back to SCHED_OTHER (off)."""
    for pid in pids:
        cmd = (["chrt", "-a", "-f", "-p", RT_PRIORITY, str(pid)] if on
               else ["chrt", "-a", "-o", "-p", "0", str(pid)])
        subprocess.run(cmd, capture_output=True, timeout=10)


def backend_pids(psql, role):
    return [int(r[0]) for r in
            psql.query(f"SELECT pid FROM pg_stat_activity WHERE usename = '{role}'")]


# ---------------------------------------------------------------- exporters

class Exporter:
    def __init__(self, kind, cmd, env, port, ready_pattern, workdir, role):
        self.kind, self.cmd, self.env, self.port = kind, cmd, env, port
        self.ready_pattern = re.compile(ready_pattern, re.M)
        self.role = role
        self.logfile = os.path.join(workdir, f"{kind}-{port}.log")
        self.proc = None
        self.ready_scrapes = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self, ready_timeout=60):
        STARTED.append(self)
        with open(self.logfile, "w") as lf:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=lf,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: "
                                   f"{self.tail()}")
            try:
                self.ready_scrapes += 1
                status, body = http_get(self.url)
                if status == 200 and self.ready_pattern.search(body):
                    return
                last = f"HTTP {status}"
            except Exception as e:  # noqa: BLE001 - not listening yet
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} not ready within {ready_timeout}s ({last}): {self.tail()}")

    def tail(self, n=20):
        try:
            with open(self.logfile) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout` s; returns (seconds to exit, killed)."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0, False
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
            return time.monotonic() - t0, False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return time.monotonic() - t0, True

    @property
    def pid(self):
        return self.proc.pid


def write_ours_config(path, port, pg_port, targets, poll_interval):
    lines = ["[exporter]", f'listen_address = "127.0.0.1:{port}"',
             f'poll_interval = "{poll_interval}"', 'log_level = "warn"', ""]
    for name in targets:
        lines += ["[[target]]", f'name = "{name}"',
                  f'dsn = "host=127.0.0.1 port={pg_port} dbname=postgres user=pgconn_exporter"',
                  'password_env = "PGCONN_BENCH_PASSWORD"', 'query_timeout = "2s"', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def make_ours(args, workdir, targets=("t1",), poll_interval="15s", fleet=False):
    port = free_port()
    cfg = os.path.join(workdir, f"pgconn-{len(targets)}-{port}.toml")
    write_ours_config(cfg, port, args.pg_port, targets, poll_interval)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONN_BENCH_PASSWORD": "bench-pgconn"}
    if fleet:
        ready = r"^pgconn_up\{"  # listening and publishing; run_fleet waits for the polls
    else:
        ready = rf'^pgconn_up\{{target="{targets[0]}"\}} 1$'
    return Exporter(OURS, [args.ours_bin, "--config.file", cfg], env, port, ready, workdir,
                    "pgconn_exporter")


def make_theirs(args, workdir):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "DATA_SOURCE_NAME": (f"host=127.0.0.1 port={args.pg_port} dbname=postgres "
                                "user=postgres_exporter password=bench-pgexp sslmode=disable")}
    # Default collectors and default metrics, as the Debian package ships them.
    cmd = [args.theirs_bin, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return Exporter(THEIRS, cmd, env, port, r"^pg_up 1$", workdir, "postgres_exporter")


# ---------------------------------------------------------------- scenarios

class Holder:
    def __init__(self, args, n):
        self.n = n
        self.proc = None
        self.args = args

    def __enter__(self):
        if self.n == 0:
            return self
        self.proc = subprocess.Popen(
            [self.args.hold_bin, f"host=127.0.0.1 port={self.args.pg_port} user=bench_app",
             str(self.n), "postgres,benchdb"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # pg_hold bounds itself at 120 s
        if not line.startswith("ready"):
            err = self.proc.stderr.read()
            raise RuntimeError(f"pg_hold {self.n}: {line.strip()} {err.strip()}")
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_client_backends(psql, expected_min, timeout=30):
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n = int(psql.query("SELECT count(*) FROM pg_stat_activity "
                           "WHERE backend_type = 'client backend' AND usename = 'bench_app'")[0][0])
        if n >= expected_min:
            return n
        time.sleep(0.2)
    return n


def run_exporter_scenario(args, ex, psql, sampler, level):
    r = {"exporter": ex.kind, "level": level}
    log_off = log_size(args.pg_log)
    t_start = time.monotonic()
    ex.start()
    r["startup_s"] = time.monotonic() - t_start
    r["rss_ready_mib"] = proc_rss_bytes(ex.pid) / MIB
    # From here on the exporter has its session(s): sample them until just before stop.
    sampler.reset()
    # Warm: both exporters keep their sessions, so first-query catalog loading is excluded.
    psql.query("SELECT pg_stat_statements_reset()")
    their_backends = backend_pids(psql, ex.role) if ex.kind == THEIRS else []
    backend_ns0 = backends_cpu_ns(their_backends)

    # 1. sequential scrapes
    cpu0, ticks0 = proc_cpu_seconds(ex.pid), proc_cpu_seconds(ex.pid, ticks=True)
    rt_pids = []
    if args.rt:
        # --rt: for this phase only, the exporter's threads, its sessions' backends and curl
        # run SCHED_FIFO, so the latency is the exporter's, not the machine's other load.
        rt_pids = [ex.pid] + backend_pids(psql, ex.role)
        set_fifo(rt_pids, True)
    try:
        seq = curl_sequential(ex.url, args.seq, args.workdir, f"{ex.kind}-{level}-seq",
                              warmup=WARMUP_SCRAPES,
                              prefix=("chrt", "-f", RT_PRIORITY) if args.rt else ())
    finally:
        if rt_pids:
            set_fifo(rt_pids, False)
    r["seq_rt"] = bool(args.rt)
    cpu1 = proc_cpu_seconds(ex.pid)
    lat = [t * 1000 for code, t, _ in seq if code == 200]
    r["seq_count"] = len(seq)
    r["seq_non_200"] = sum(1 for code, _, _ in seq if code != 200)
    r["seq_p50_ms"] = percentile(lat, 50)
    r["seq_p99_ms"] = percentile(lat, 99)
    r["seq_mean_ms"] = statistics.fmean(lat) if lat else None
    r["seq_max_ms"] = max(lat) if lat else None
    # Where the slowest scrapes fell (index in the sequence, ms): clustered at the start
    # means warm-up, spread evenly means interference from the machine.
    r["seq_slowest"] = sorted(((i, round(v, 3)) for i, v in enumerate(lat)),
                              key=lambda x: -x[1])[:15]
    r["seq_wall_s"] = sum(lat) / 1000
    r["scrape_bytes_gzip"] = statistics.median([b for c, _, b in seq if c == 200]) if lat else None
    r["rss_after_seq_mib"] = proc_rss_bytes(ex.pid) / MIB
    if ex.kind == THEIRS:
        # It runs its queries on every scrape: server time over these scrapes, per scrape.
        calls, ms = server_time(psql, ex.role)
        r["server_calls"], r["server_ms_total"] = calls, ms
        r["server_polls"] = len(seq) + WARMUP_SCRAPES
        r["server_ms_per_poll"] = ms / (len(seq) + WARMUP_SCRAPES) if seq else None
        r["server_statements"] = top_statements(psql, ex.role)
        r["server_cpu_ms_per_poll"] = ((backends_cpu_ns(their_backends) - backend_ns0) / 1e6
                                       / (len(seq) + WARMUP_SCRAPES) if seq else None)

    # 2. more scrapes until `total`
    more = max(0, args.totals[level] - len(seq))
    t0 = time.monotonic()
    extra = curl_parallel(ex.url, more, 2, args.workdir, f"{ex.kind}-{level}-more") if more else []
    r["more_seconds"] = time.monotonic() - t0
    cpu2, ticks2 = proc_cpu_seconds(ex.pid), proc_cpu_seconds(ex.pid, ticks=True)
    r["scrapes_total"] = len(seq) + len(extra)
    r["more_non_200"] = sum(1 for code, _, _ in extra if code != 200)
    r["rss_after_total_mib"] = proc_rss_bytes(ex.pid) / MIB
    r["rss_anon_after_total_mib"] = proc_rss_anon_bytes(ex.pid) / MIB
    r["pss_after_total_mib"] = proc_pss_bytes(ex.pid) / MIB
    # The CPU window includes the warm-up scrapes: count them as scrapes too.
    r["cpu_s_per_1000_seq"] = (cpu1 - cpu0) / max(1, len(seq) + WARMUP_SCRAPES) * 1000
    r["cpu_s_per_1000"] = (cpu2 - cpu0) / max(1, r["scrapes_total"] + WARMUP_SCRAPES) * 1000
    # Cross-check from /proc/PID/stat ticks (10 ms resolution, includes exited threads).
    r["cpu_s_per_1000_ticks"] = ((ticks2 - ticks0) / max(1, r["scrapes_total"] + WARMUP_SCRAPES)
                                 * 1000)

    # 3. wrk
    r["wrk"] = {}
    for c in args.wrk_connections:
        w = run_wrk(ex.url, c, args.wrk_seconds)
        r["wrk"][str(c)] = w
        log(f"  {ex.kind} @{level}: wrk -c{c}: {fmt(w['rps'])} req/s p99 {fmt(w['p99_ms'])} ms "
            f"non-2xx {w['non_2xx']} socket errors {w['socket_errors']}")
    r["rss_after_wrk_mib"] = proc_rss_bytes(ex.pid) / MIB
    r["threads"] = proc_threads(ex.pid)
    time.sleep(0.6)  # at least one more sampler reading after the load
    r["connections"] = sampler.summary(ex.role)
    r["run_seconds"] = time.monotonic() - t_start
    ex.stop()
    r["connections_opened"] = count_authorized(args.pg_log, log_off, ex.role)

    if ex.kind == OURS:
        r.update(measure_ours_poll_cost(args, psql, level))
    r["server_ms_per_minute_15s"] = (r["server_ms_per_poll"] * 4
                                     if r.get("server_ms_per_poll") is not None else None)
    log(f"  {ex.kind} @{level}: seq p50 {r['seq_p50_ms']:.3f} ms p99 {r['seq_p99_ms']:.3f} ms, "
        f"cpu/1000 {r['cpu_s_per_1000']:.3f} s, rss {r['rss_after_total_mib']:.1f} MiB, "
        f"conns held max {r['connections']['max']} opened {r['connections_opened']}, "
        f"server {fmt(r.get('server_ms_per_poll'))} ms/poll")
    return r


def measure_ours_poll_cost(args, psql, level):
    """Server time of one warm poll: ours polls on its interval, not per scrape, so a
    separate instance polls every second for a while after its first (cold) poll."""
    ex = make_ours(args, args.workdir, poll_interval="1s")
    pm = postmaster_pid(psql)
    try:
        ex.start()
        time.sleep(1.2)
        pids = backend_pids(psql, ex.role)
        psql.query("SELECT pg_stat_statements_reset()")
        ns0, pm0 = backends_cpu_ns(pids), postmaster_cpu_s(pm)
        time.sleep(args.poll_cost_seconds)
        ns1, pm1 = backends_cpu_ns(pids), postmaster_cpu_s(pm)
        calls, ms = server_time(psql, ex.role)
        polls = poll_calls(psql, ex.role)
        stmts = top_statements(psql, ex.role)
    finally:
        ex.stop()
    per = (lambda v: v / polls if polls else None)
    return {"server_calls": calls, "server_ms_total": ms, "server_polls": polls,
            "server_ms_per_poll": per(ms), "server_statements": stmts,
            "server_cpu_ms_per_poll": per((ns1 - ns0) / 1e6),
            # ticks of 10 ms, and other children the postmaster reaped meanwhile (autovacuum)
            "postmaster_cpu_ms_per_poll": per((pm1 - pm0) * 1000)}


def measure_theirs_scrape_cost(args, psql, scrapes):
    """Server time and backend CPU of postgres_exporter per scrape (it queries per scrape)."""
    ex = make_theirs(args, args.workdir)
    try:
        ex.start()
        curl_sequential(ex.url, WARMUP_SCRAPES, args.workdir, "theirs-cost-warm")
        pids = backend_pids(psql, ex.role)
        psql.query("SELECT pg_stat_statements_reset()")
        ns0 = backends_cpu_ns(pids)
        seq = curl_sequential(ex.url, scrapes, args.workdir, "theirs-cost")
        ns1 = backends_cpu_ns(pids)
        calls, ms = server_time(psql, ex.role)
        stmts = top_statements(psql, ex.role)
    finally:
        ex.stop()
    n = len(seq)
    return {"server_calls": calls, "server_ms_total": ms, "server_polls": n,
            "server_ms_per_poll": ms / n if n else None, "server_statements": stmts,
            "server_cpu_ms_per_poll": (ns1 - ns0) / 1e6 / n if n else None}


def run_server_cost(args, psql):
    """--server-cost-only: per level, ours per poll vs theirs per scrape, and one probe."""
    out = {"probe": measure_probe_cost(args, psql), "levels": {}}
    for level in args.levels:
        log(f"server cost: level {level}")
        with Holder(args, level):
            seen = wait_client_backends(psql, level)
            ours = measure_ours_poll_cost(args, psql, level)
            theirs = measure_theirs_scrape_cost(args, psql, args.cost_scrapes)
        out["levels"][str(level)] = {"held_client_backends": seen, OURS: ours, THEIRS: theirs,
                                     "loadavg": loadavg()}
    return out


def render_server_cost(cost):
    p = cost["probe"]
    lines = [f"accept probe: {fmt(p['probe_server_cpu_ms'])} ms server CPU each "
             f"(postmaster fork + child, over {p['probes']}), {fmt(p['probe_wall_ms'])} ms wall",
             "| conns | metric | ours per poll | theirs per scrape | ratio | goal |",
             "|---|---|---|---|---|---|"]
    for level, lv in cost["levels"].items():
        o, t = lv[OURS], lv[THEIRS]
        for key, label in (("server_ms_per_poll", "pg_stat_statements exec+plan (ms)"),
                           ("server_cpu_ms_per_poll", "backend CPU, /proc schedstat (ms)")):
            r = ratio(o[key], t[key])
            lines.append(f"| {level} | {label} | {fmt(o[key])} | {fmt(t[key])} | "
                         f"{fmt_ratio(r)} | {'met' if r is not None and r <= 0.2 else 'MISSED'} "
                         "(<=1/5) |")
        lines.append(f"| {level} | postmaster CPU per poll incl. probe fork (ms, 10 ms ticks) | "
                     f"{fmt(o['postmaster_cpu_ms_per_poll'])} | | | |")
        lines.append(f"| {level} | polls / scrapes measured | {o['server_polls']} | "
                     f"{t['server_polls']} | | |")
    return "\n".join(lines)


def top_statements(psql, role, limit=8):
    rows = psql.query(
        "SELECT s.calls, round((s.total_exec_time + s.total_plan_time)::numeric, 3), "
        "regexp_replace(left(s.query, 90), '\\s+', ' ', 'g') "
        "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
        f"WHERE r.rolname = '{role}' ORDER BY 2 DESC LIMIT {limit}")
    return [{"calls": int(c), "ms": float(m), "query": q} for c, m, q in rows]


def family_text(text, name):
    """The lines of family `name` (its samples are together, after its TYPE line), or the whole
    text if it has no TYPE line: a fleet's text is ~18 MiB, one family of it a few KiB."""
    nl, head = ("\n", f"# TYPE {name} ") if isinstance(text, str) else (b"\n", f"# TYPE {name} ".encode())
    start = text.find(head)
    if start < 0:
        return text
    end = text.find(nl + head[:2], start + len(head))  # the next family's first comment line
    return text[start:] if end < 0 else text[start:end + 1]


def parse_series(text, name):
    """{target: value} of one per-target series in exposition text (str or bytes)."""
    pattern = rf'^{name}\{{target="([^"]+)"\}} (\S+)$'
    text = family_text(text, name)
    if isinstance(text, bytes):
        rx = re.compile(pattern.encode(), re.M)
        return {m.group(1).decode(): float(m.group(2)) for m in rx.finditer(text)}
    return {m.group(1): float(m.group(2)) for m in re.finditer(pattern, text, re.M)}


class BlackHole:
    """A TCP listener that never accepts nor answers (the kernel completes the handshake):
    a black-holed host. A connect to it costs the target's connect_timeout."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.sock.close()


def make_fleet_exporter(args, names, poll_interval, black_hole_port=None):
    """Our exporter with one target per name, all on the bench server's `postgres` database
    (sessions of one role; a tenant-per-database fleet costs the exporter the same), plus a
    target "frozen" on the black hole when black_hole_port is given."""
    port = free_port()
    cfg = os.path.join(args.workdir, f"pgconn-fleet-{len(names)}-{port}.toml")
    write_ours_config(cfg, port, args.pg_port, names, poll_interval)
    if black_hole_port:
        with open(cfg, "a") as f:
            f.write("\n".join(["", "[[target]]", 'name = "frozen"',
                               f'dsn = "host=127.0.0.1 port={black_hole_port} dbname=postgres '
                               'user=pgconn_exporter"',
                               'password_env = "PGCONN_BENCH_PASSWORD"',
                               'connect_timeout = "5s"', ""]))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONN_BENCH_PASSWORD": "bench-pgconn"}
    return Exporter(OURS, [args.ours_bin, "--config.file", cfg], env, port, r"^pgconn_up\{",
                    args.workdir, "pgconn_exporter")


def exporter_sessions(psql):
    return int(psql.query("SELECT count(*) FROM pg_stat_activity WHERE usename = "
                          "'pgconn_exporter' AND backend_type = 'client backend'")[0][0])


def run_fleet(args, n, psql, sampler, frozen=False):
    """Fleet of n targets on one server. A scraper-side observer reads /metrics from
    start-up (see _run_fleet for how often) and records, per target, when each new successful poll
    (pgconn_last_poll_success_timestamp_seconds) first becomes visible. From that:
      - first cycle: when every target has been polled once (up or not);
      - refresh gap: time between a target's first two visible successes (should be one
        interval: each target must be polled, and its result published, every interval);
      - publish lag: visible time - poll end time (the wait to publish, plus up to one
        observation period).
    Observation stops once every target shows two successes, or one interval + 5 s after
    the first cycle (bounded), so a target that never refreshes is reported, not waited for.
    With `frozen`, one more target "frozen" points at a black hole (BlackHole): every poll
    of it holds a poller thread for its connect_timeout; only the n healthy ones are counted."""
    names = [f"t{i:04d}" for i in range(1, n + 1)]
    with contextlib.ExitStack() as stack:
        hole = stack.enter_context(BlackHole()) if frozen else None
        ex = make_fleet_exporter(args, names, args.fleet_interval, hole.port if hole else None)
        return _run_fleet(args, n, psql, sampler, names, ex, frozen)


def http_get_gzip(url, timeout=10.0, until=None):
    """A scrape as Prometheus makes it (gzip): (text as bytes, unix time the response arrived).
    With `until` (a family name), the text is decoded only until that family has ended: a
    fleet's family near the start costs a few ms to find instead of inflating ~18 MiB, so the
    observer can look often without loading the machine it measures."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
        arrived = time.time()
        if resp.headers.get("Content-Encoding") != "gzip":
            return body, arrived
    inflater = zlib.decompressobj(31)
    if until is None:
        return inflater.decompress(body), arrived
    head, text, step = f"# TYPE {until} ".encode(), b"", 64 * 1024
    for at in range(0, len(body), step):
        text += inflater.decompress(body[at:at + step])
        start = text.find(head)
        if start >= 0 and text.find(b"\n# ", start + len(head)) >= 0:
            break
    return text, arrived


def _run_fleet(args, n, psql, sampler, names, ex, frozen):
    """Start-up (every target polled once), one interval to settle (the first connects are
    spread over half an interval and land in a burst), then a steady-state window of two
    intervals: CPU, poll gaps (from the targets' own success timestamps) and visible refresh
    gaps are measured in that window only. The observer scrapes with gzip, as Prometheus
    does: every 0.5 s until the window, then every 0.1 s decoding only the success family (a
    refresh is seen up to one observation late: the window's observation period is reported)."""
    interval = float(args.fleet_interval.rstrip("s"))
    r = {"targets": n, "poll_interval_s": interval, "frozen_targets": 1 if frozen else 0}
    log_off = log_size(args.pg_log)
    seen = {k: [] for k in names}  # target -> [(poll end unix ts, first visible unix time)]
    body = b""
    key = "pgconn_last_poll_success_timestamp_seconds"

    def observe(until=None):
        nonlocal body
        body, now = http_get_gzip(ex.url, until=until)
        for k, v in parse_series(body, key).items():
            if k in seen and (not seen[k] or seen[k][-1][0] != v):
                seen[k].append((v, now))

    try:
        t0_unix, t0 = time.time(), time.monotonic()
        ex.start()  # ready = listening with at least one pgconn_up line
        first_done = None
        while time.monotonic() < t0 + 60 + 3 * interval:
            observe()
            if sum(1 for k in parse_series(body, "pgconn_poll_duration_seconds")
                   if k in seen) == n:
                first_done = time.monotonic()
                break
            time.sleep(0.5)
        r["first_cycle_s"] = None if first_done is None else first_done - t0
        up = parse_series(body, "pgconn_up")
        r["up_after_first_cycle"] = sum(1 for k, v in up.items() if v == 1 and k in seen)
        first_seen = [v[0][1] - t0_unix for v in seen.values() if v]
        r["all_first_success_visible_s"] = max(first_seen) if len(first_seen) == n else None
        settle_end = time.monotonic() + (interval if first_done is not None else 0)
        while time.monotonic() < settle_end:
            observe()
            time.sleep(0.5)
        for k in seen:  # the window starts here: keep only the latest success seen
            seen[k] = seen[k][-1:]
        sampler.reset()
        cpu_a, t_a = proc_cpu_seconds(ex.pid), time.monotonic()
        window_end = t_a + 2 * interval + 2
        observations = 0
        while time.monotonic() < window_end:
            observe(until=key)
            observations += 1
            time.sleep(0.1)
        observe()  # the whole text, for the figures below
        cpu_b, t_b = proc_cpu_seconds(ex.pid), time.monotonic()
        text = body.decode("utf-8", "replace")
        up = parse_series(text, "pgconn_up")
        r["up_at_end"] = sum(1 for k, v in up.items() if v == 1 and k in seen)
        r["sessions_at_end"] = exporter_sessions(psql)
        r["window_s"] = t_b - t_a
        # A refresh is seen up to one observation late: the resolution of the gaps below.
        r["observe_period_s"] = r["window_s"] / max(1, observations)
        # Every gap between consecutive successes inside the window, per target; a target
        # with fewer than two successes there never refreshed in it.
        gaps = {k: [b[1] - a[1] for a, b in zip(v, v[1:])] for k, v in seen.items()}
        poll_gaps = {k: [b[0] - a[0] for a, b in zip(v, v[1:])] for k, v in seen.items()}
        lags = [vis - ts for v in seen.values() for ts, vis in v[1:]]
        all_gaps = [g for v in gaps.values() for g in v]
        all_poll_gaps = [g for v in poll_gaps.values() for g in v]
        r["refreshed"] = sum(1 for v in gaps.values() if v)
        r["refreshed_within_interval"] = sum(
            1 for v in gaps.values() if v and max(v) <= interval + 1)
        r["refresh_gap_median_s"] = statistics.median(all_gaps) if all_gaps else None
        r["refresh_gap_max_s"] = max(all_gaps) if all_gaps else None
        r["poll_gap_max_s"] = max(all_poll_gaps) if all_poll_gaps else None
        r["polled_within_interval"] = sum(
            1 for v in poll_gaps.values() if len(v) >= 1 and max(v) <= interval + 1)
        r["publish_lag_median_s"] = statistics.median(lags) if lags else None
        r["publish_lag_max_s"] = max(lags) if lags else None
        dur = parse_series(text, "pgconn_poll_duration_seconds")
        r["poll_duration_max_s"] = max(dur.values()) if dur else None
        r["poll_duration_median_s"] = statistics.median(dur.values()) if dur else None
        r["cpu_core_fraction"] = (cpu_b - cpu_a) / max(1e-9, t_b - t_a)
        r["rss_mib"] = proc_rss_bytes(ex.pid) / MIB
        r["rss_anon_mib"] = proc_rss_anon_bytes(ex.pid) / MIB
        r["threads"] = proc_threads(ex.pid)
        r["loadavg"] = loadavg()
        r["text_bytes"] = len(text.encode())
        r["series"] = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        seq = curl_sequential(ex.url, args.fleet_scrapes, args.workdir, f"fleet-{n}",
                              warmup=WARMUP_SCRAPES)
        lat = [t * 1000 for c, t, _ in seq if c == 200]
        r["gzip_bytes"] = statistics.median([b for c, _, b in seq if c == 200]) if lat else None
        r["scrape_p50_ms"] = percentile(lat, 50)
        r["scrape_p99_ms"] = percentile(lat, 99)
        time.sleep(0.6)
        r["connections"] = sampler.summary(ex.role)
    finally:
        r["shutdown_s"], r["shutdown_killed"] = ex.stop(timeout=30)
    r["connections_opened"] = count_authorized(args.pg_log, log_off, ex.role)
    log(f"  fleet {n}{' + 1 frozen' if frozen else ''}: all polled once after {fmt(r['first_cycle_s'])} s "
        f"({r['up_after_first_cycle']} up), refreshed within {interval:g}+1 s "
        f"{r.get('refreshed_within_interval')}/{n}, gap max "
        f"{fmt(r['refresh_gap_max_s'])} s, publish lag max {fmt(r['publish_lag_max_s'])} s, "
        f"cpu {r['cpu_core_fraction']*100:.1f}% of a core, rss {r['rss_mib']:.1f} MiB, "
        f"{r['series']} series, {r['text_bytes']/1024:.0f} KiB text / "
        f"{(r['gzip_bytes'] or 0)/1024:.0f} KiB gzip, poll gap max {fmt(r['poll_gap_max_s'])} s "
        f"({r['polled_within_interval']}/{n} within {interval:g}+1 s), "
        f"held {r['connections']['max']} "
        f"(at end {r['sessions_at_end']}), scrape p50/p99 {fmt(r['scrape_p50_ms'])}/"
        f"{fmt(r['scrape_p99_ms'])} ms, {r['threads']} threads, load {r['loadavg']}, "
        f"shutdown {r['shutdown_s']:.1f} s{' (killed)' if r['shutdown_killed'] else ''}")
    return r


# ---------------------------------------------------------------- report

def ratio(ours, theirs):
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def fmt(v, digits=3):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.2f}"


def _times(x):
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def fmt_ratio(r, lower_is_better=True):
    """ours/theirs, and in words which way it goes (for every figure: lower or higher)."""
    if r is None:
        return "n/a"
    if r == 0:
        return "0"
    word = f"{_times(1 / r)} lower" if r < 1 else f"{_times(r)} higher"
    if abs(r - 1) < 0.05:
        word = "same"
    return f"{r:.3g} ({word})"


def fleet_rows(f, fleets):
    """Table rows of one fleet run; goals (issue 15) are judged from 1,000 targets on."""
    n, frozen = f["targets"], f.get("frozen_targets", 0)
    sec = f"fleet {n} targets" + (" + 1 black-holed" if frozen else "")
    goal = n >= 1000 and not frozen
    rows = []

    def addf(metric, v, target="", verdict=""):
        rows.append((sec, metric, fmt(v), "", "", target, verdict))

    def judged(ok):
        return "met" if ok else "MISSED"

    iv = f["poll_interval_s"]
    addf("every target polled once after (s, incl. connect)", f["first_cycle_s"],
         target=f"<= {iv:g}" if goal else "",
         verdict=judged((f["first_cycle_s"] or 1e9) <= iv) if goal else "")
    addf("targets up after first cycle / at end",
         f"{f['up_after_first_cycle']} / {f['up_at_end']}", target=f"{n} / {n}",
         verdict=judged(f["up_after_first_cycle"] == n and f["up_at_end"] == n))
    within = f.get("refreshed_within_interval", 0)
    addf(f"steady state, {fmt(f.get('window_s'))} s: targets whose every visible refresh "
         f"came within {iv:g} s (+1 s)", f"{within} / {n}",
         target=f"{n} / {n}" if n >= 200 else "",
         verdict=judged(within == n) if n >= 200 else "")
    addf("refresh gap per target, median / max (s)",
         f"{fmt(f['refresh_gap_median_s'])} / {fmt(f['refresh_gap_max_s'])}")
    if f.get("poll_gap_max_s") is not None:
        addf(f"steady state: targets whose every poll came within {iv:g} s (+1 s); "
             "max poll gap (s)",
             f"{f['polled_within_interval']} / {n}; {fmt(f['poll_gap_max_s'])}",
             target=f"{n} / {n}" if n >= 200 else "",
             verdict=judged(f["polled_within_interval"] == n) if n >= 200 else "")
    if frozen:
        same = [g for g in fleets if g["targets"] == n and not g.get("frozen_targets")]
        without = same[0]["refresh_gap_max_s"] if same else None
        ok = None not in (without, f["refresh_gap_max_s"]) and \
            f["refresh_gap_max_s"] <= max(without, iv) + 1
        addf("healthy targets' max refresh gap with / without it (s)",
             f"{fmt(f['refresh_gap_max_s'])} / {fmt(without)}", target="unchanged (+1 s)",
             verdict=judged(ok))
        poll_without = same[0].get("poll_gap_max_s") if same else None
        poll_ok = None not in (poll_without, f.get("poll_gap_max_s")) and \
            f["poll_gap_max_s"] <= max(poll_without, iv) + 1
        addf("healthy targets' max poll gap with / without it (s)",
             f"{fmt(f.get('poll_gap_max_s'))} / {fmt(poll_without)}", target="unchanged (+1 s)",
             verdict=judged(poll_ok))
    addf("publish lag (poll end -> visible), median / max (s); observed every (s)",
         f"{fmt(f['publish_lag_median_s'])} / {fmt(f['publish_lag_max_s'])}; "
         f"{fmt(f.get('observe_period_s'))}")
    addf("poll duration, median / max (s)",
         f"{fmt(f['poll_duration_median_s'])} / {fmt(f['poll_duration_max_s'])}")
    addf("CPU, % of one core", f["cpu_core_fraction"] * 100, target="<= 25" if goal else "",
         verdict=judged(f["cpu_core_fraction"] <= 0.25) if goal else "")
    addf("RSS / RssAnon (MiB)", f"{fmt(f['rss_mib'])} / {fmt(f['rss_anon_mib'])}",
         target="<= 150" if goal else "", verdict=judged(f["rss_mib"] <= 150) if goal else "")
    base = fleets[0]
    if n > base["targets"]:
        addf(f"RSS per target beyond {base['targets']} (KiB)",
             (f["rss_mib"] - base["rss_mib"]) * 1024 / (n - base["targets"]))
    addf("exporter threads", f.get("threads"))
    addf("series / text KiB / gzip KiB",
         f"{f['series']:,} / {f['text_bytes']/1024:.0f} / {(f['gzip_bytes'] or 0)/1024:.1f}")
    addf("scrape p50 / p99 (ms)", f"{fmt(f['scrape_p50_ms'])} / {fmt(f['scrape_p99_ms'])}",
         target="p99 < 5" if goal else "",
         verdict=judged((f["scrape_p99_ms"] or 1e9) < 5) if goal else "")
    addf("DB sessions held, max sampled / at end", f"{f['connections']['max']} / "
         f"{f.get('sessions_at_end')}", target=f"{n}",
         verdict=judged(f["connections"]["max"] == n and f.get("sessions_at_end") == n))
    addf("load average at the end of the run", " ".join(map(str, f.get("loadavg") or [])))
    addf("shutdown after SIGTERM (s)",
         f"{fmt(f['shutdown_s'])}{' (SIGKILLed at 30 s)' if f['shutdown_killed'] else ''}")
    return rows


def build_rows(results):
    """Rows: (section, metric, ours, theirs, ratio_text, target, verdict)."""
    rows = []
    levels = results["levels"]
    for level in levels:
        o = results["scenarios"][str(level)][OURS]
        t = results["scenarios"][str(level)][THEIRS]
        sec = f"{level} conns"

        def add(metric, ov, tv, lower=True, target="", verdict=""):
            rows.append((sec, metric, fmt(ov), fmt(tv), fmt_ratio(ratio(ov, tv), lower),
                         target, verdict))

        def yes(b):
            return "met" if b else "MISSED"

        r50 = ratio(o["seq_p50_ms"], t["seq_p50_ms"])
        r99 = ratio(o["seq_p99_ms"], t["seq_p99_ms"])
        rt = " at SCHED_FIFO" if o.get("seq_rt") else ""
        add(f"scrape p50, {o['seq_count']:,} sequential{rt} (ms)", o["seq_p50_ms"], t["seq_p50_ms"],
            target=">=20x lower", verdict=yes(r50 is not None and r50 <= 1 / 20))
        add(f"scrape p99, {o['seq_count']:,} sequential{rt} (ms)", o["seq_p99_ms"], t["seq_p99_ms"],
            target=">=20x lower", verdict=yes(r99 is not None and r99 <= 1 / 20))
        for c, w_o in o["wrk"].items():
            w_t = t["wrk"][c]
            rr = ratio(w_o["rps"], w_t["rps"])
            add(f"wrk -c{c} {w_o['seconds']}s throughput (req/s)", w_o["rps"], w_t["rps"],
                lower=False, target=">=50x higher", verdict=yes(rr is not None and rr >= 50))
            add(f"wrk -c{c} latency p50 (ms)", w_o["p50_ms"], w_t["p50_ms"])
            add(f"wrk -c{c} latency p99 (ms)", w_o["p99_ms"], w_t["p99_ms"])
            bad_o = w_o["non_2xx"] + w_o["socket_errors"]
            bad_t = w_t["non_2xx"] + w_t["socket_errors"]
            add(f"wrk -c{c} non-2xx + socket errors", bad_o, bad_t, target="0 non-2xx",
                verdict=yes(w_o["non_2xx"] == 0))
        add(f"CPU s per 1,000 scrapes (over {o['scrapes_total']:,})", o["cpu_s_per_1000"],
            t["cpu_s_per_1000"])
        add(f"RSS after {o['seq_count']:,} scrapes (MiB)", o["rss_after_seq_mib"],
            t["rss_after_seq_mib"])
        growth = o["rss_after_total_mib"] - o["rss_after_seq_mib"]
        rr = ratio(o["rss_after_total_mib"], t["rss_after_total_mib"])
        long_run = o["scrapes_total"] > o["seq_count"]
        if long_run:
            add(f"RSS after {o['scrapes_total']:,} scrapes (MiB)", o["rss_after_total_mib"],
                t["rss_after_total_mib"], target="<=1/2, no growth",
                verdict=yes(rr is not None and rr <= 0.5 and growth <= 0.5))
            rows.append((sec, f"RSS growth {o['seq_count']:,} -> {o['scrapes_total']:,} scrapes "
                         "(MiB)", f"{growth:+.2f}",
                         f"{t['rss_after_total_mib'] - t['rss_after_seq_mib']:+.2f}", "",
                         "none (<=0.5 MiB)", yes(growth <= 0.5)))
        else:
            rows[-1] = rows[-1][:5] + ("<=1/2", yes(ratio(o["rss_after_seq_mib"],
                                                           t["rss_after_seq_mib"]) <= 0.5))
        add(f"PSS after {o['scrapes_total']:,} scrapes (MiB, shared pages split)",
            o["pss_after_total_mib"], t["pss_after_total_mib"])
        add(f"RssAnon after {o['scrapes_total']:,} scrapes (MiB, no shared libs)",
            o["rss_anon_after_total_mib"], t["rss_anon_after_total_mib"])
        add("RSS after wrk (MiB)", o["rss_after_wrk_mib"], t["rss_after_wrk_mib"])
        add("DB connections held (max sampled)", o["connections"]["max"], t["connections"]["max"],
            target="exactly 1",
            verdict=yes(o["connections"]["max"] == 1 and o["connections"]["min"] == 1))
        add("DB connections opened during run", o["connections_opened"], t["connections_opened"],
            target="1", verdict=yes(o["connections_opened"] == 1))
        rs = ratio(o["server_ms_per_poll"], t["server_ms_per_poll"])
        add("server time per poll (ms; theirs: per scrape)", o["server_ms_per_poll"],
            t["server_ms_per_poll"], target="<=1/5", verdict=yes(rs is not None and rs <= 0.2))
        rc = ratio(o.get("server_cpu_ms_per_poll"), t.get("server_cpu_ms_per_poll"))
        add("server backend CPU per poll, /proc (ms; theirs: per scrape)",
            o.get("server_cpu_ms_per_poll"), t.get("server_cpu_ms_per_poll"), target="<=1/5",
            verdict=yes(rc is not None and rc <= 0.2))
        add("postmaster CPU per poll incl. accept probe fork (ms, 10 ms ticks)",
            o.get("postmaster_cpu_ms_per_poll"), None)
        add("server time per minute at 15 s (ms)", o["server_ms_per_minute_15s"],
            t["server_ms_per_minute_15s"])
        lv = results["scenarios"][str(level)]
        rows.append((sec, "load average 1/5/15 min, start -> end of level",
                     " ".join(f"{x:g}" for x in lv["loadavg"]) + " -> " +
                     " ".join(f"{x:g}" for x in lv["loadavg_end"]), "", "", "", ""))
    # Flatness of our scrape latency across levels: max/min <= 1.5, or a spread below the
    # measurement floor of a loaded 2-core box (0.1 ms for p50, 0.5 ms for p99).
    if len(levels) > 1:
        for key, floor in (("seq_p50_ms", 0.1), ("seq_p99_ms", 0.5)):
            ours_v = [results["scenarios"][str(l)][OURS][key] for l in levels]
            theirs_v = [results["scenarios"][str(l)][THEIRS][key] for l in levels]
            flat = max(ours_v) / min(ours_v)
            spread = max(ours_v) - min(ours_v)
            t_flat = max(theirs_v) / min(theirs_v)
            label = key.split("_")[1]
            rows.append(("across levels",
                         f"scrape {label} max/min over {'/'.join(map(str, levels))} conns",
                         f"{fmt(flat)} (spread {spread:.3f} ms)",
                         f"{fmt(t_flat)} (spread {max(theirs_v) - min(theirs_v):.1f} ms)", "",
                         f"flat (<=1.5 or <={floor} ms)",
                         "met" if flat <= 1.5 or spread <= floor else "MISSED"))
    for f in results["fleet"]:
        rows.extend(fleet_rows(f, results["fleet"]))
    return rows


def render_table(rows, markdown):
    header = ("scenario", "metric", "pgconn_exporter", "postgres_exporter", "ours/theirs",
              "target", "verdict")
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in rows:
            out.append("| " + " | ".join(str(c) for c in r) + " |")
        return "\n".join(out)
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    sep = "  "
    out = [sep.join(h.ljust(widths[i]) for i, h in enumerate(header)),
           sep.join("-" * w for w in widths)]
    prev = None
    for r in rows:
        if prev is not None and r[0] != prev:
            out.append("")
        prev = r[0]
        out.append(sep.join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(out)


def render_micro(micro):
    if not micro:
        return ""
    lines = ["| micro-benchmark | real time | CPU time | counters |", "|---|---|---|---|"]
    skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
            "iterations", "real_time", "cpu_time", "time_unit", "family_index",
            "per_family_instance_index", "aggregate_name"}
    for b in micro.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        unit = b.get("time_unit", "ns")
        counters = []
        for k, v in b.items():
            if k in skip or not isinstance(v, (int, float)):
                continue
            if k == "bytes_per_second":
                counters.append(f"{v / MIB:,.0f} MiB/s")
            elif k == "items_per_second":
                counters.append(f"{v:,.0f} items/s")
            elif k == "cycle_cpu_s":
                counters.append(f"cycle_cpu {v * 1000:,.1f} ms")
            else:
                counters.append(f"{k} {v:,.0f}")
        lines.append(f"| {b['name']} | {b['real_time']:,.1f} {unit} | {b['cpu_time']:,.1f} {unit} | "
                     f"{', '.join(counters)} |")
    return "\n".join(lines)


def machine_info(args):
    info = {
        "cores": os.cpu_count(),
        "cpu_model": "",
        "kernel": platform.release(),
        "loadavg_start": loadavg(),
        "mem_total_mib": None,
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_total_mib"] = int(line.split()[1]) // 1024
    except OSError:
        pass

    def cmd_out(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return "unknown"

    info["pgconn_exporter"] = cmd_out([args.ours_bin, "--version"])
    info["postgres_exporter"] = cmd_out([args.theirs_bin, "--version"])
    info["wrk"] = cmd_out(["wrk", "--version"])
    info["curl"] = cmd_out(["curl", "--version"])
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ours-bin", required=True)
    ap.add_argument("--theirs-bin", required=True)
    ap.add_argument("--hold-bin", required=True)
    ap.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--pg-sock", required=True)
    ap.add_argument("--pg-log", required=True)
    ap.add_argument("--results-dir", required=True)
    ap.add_argument("--micro-json", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--nice", default="", help="recorded only: run.sh applies it")
    ap.add_argument("--rt", action="store_true",
                    help="sequential-latency phase at SCHED_FIFO (exporter, its backends, curl)")
    ap.add_argument("--workdir-parent", default="", help="scratch space (default: $TMPDIR)")
    ap.add_argument("--fleet-sizes", default="",
                    help="comma-separated fleet sizes (default: 1,20 quick; 1,50,200,1000 full)")
    ap.add_argument("--fleet-frozen", type=int, default=None,
                    help="fleet size run again with one black-holed target (default: the "
                         "largest fleet size in a full run, none in --quick; 0: none)")
    ap.add_argument("--fleet-only", action="store_true",
                    help="run only the fleet scenarios (no connection levels, no comparison)")
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("--server-cost-only", action="store_true",
                    help="only server cost per poll/scrape at 10/90/900 connections")
    args = ap.parse_args()
    args.fleet_sizes_arg = args.fleet_sizes
    if args.rt and not rt_available():
        ap.error("--rt needs root, chrt and kernel.sched_rt_runtime_us >= 0")
    # `timeout` and run.sh's trap send SIGTERM: unwind so every finally stops what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.quick:
        args.levels, args.seq = [10, 900], 200
        args.totals = {10: 1000, 900: 1000}
        args.wrk_seconds, args.wrk_connections = 3, [4, 64]
        args.fleet_sizes, args.fleet_interval, args.fleet_scrapes = [1, 20], "5s", 20
        args.poll_cost_seconds = 4
    else:
        # 10,000 scrapes of postgres_exporter take minutes on 2 cores: the long run (memory
        # growth 1,000 -> 10,000) is done at the middle level, 1,000 scrapes at the others.
        args.levels, args.seq = [10, 90, 900], 1000
        args.totals = {10: 1000, 90: 10000, 900: 1000}
        args.wrk_seconds, args.wrk_connections = 10, [4, 64]
        args.fleet_sizes, args.fleet_interval = [1, 50, 200, 1000], "15s"
        # A p99 of 100 scrapes is their second-slowest; 1,000 take about a second at 1,000 targets.
        args.fleet_scrapes = 1000
        args.poll_cost_seconds = 10
    if args.fleet_sizes_arg:
        args.fleet_sizes = [int(x) for x in args.fleet_sizes_arg.split(",") if x.strip()]
    if args.fleet_frozen is None:
        args.fleet_frozen = 0 if args.quick else max(args.fleet_sizes)

    args.workdir = tempfile.mkdtemp(prefix="bench-py-", dir=args.workdir_parent or None)
    if args.server_cost_only:
        return server_cost_main(args)
    started = datetime.datetime.now(datetime.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    results = {
        "started_utc": started.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "nice": args.nice or None,
        "rt_sequential_phase": bool(args.rt),
        "command": args.command,
        "machine": machine_info(args),
        "parameters": {
            "levels": args.levels, "sequential_scrapes": args.seq,
            "total_scrapes": {str(k): v for k, v in args.totals.items()},
            "wrk_seconds": args.wrk_seconds, "wrk_connections": args.wrk_connections,
            "wrk_threads": 2, "fleet_sizes": args.fleet_sizes, "fleet_frozen": args.fleet_frozen,
            "fleet_poll_interval": args.fleet_interval, "ours_poll_interval": "15s",
            "request_headers": dict(PROM_HEADERS),
            "server_cost_method": "pg_stat_statements (track=all, track_planning=on), "
                                  "sum(total_exec_time + total_plan_time) filtered by the "
                                  "exporter's role",
        },
        "levels": [] if args.fleet_only else args.levels,
        "scenarios": {},
        "fleet": [],
    }
    psql = Psql(args.pg_bin, args.pg_sock, args.pg_port)
    sampler = SessionSampler(Psql(args.pg_bin, args.pg_sock, args.pg_port),
                             ["pgconn_exporter", "postgres_exporter"])
    sampler.start()
    results["postgres"] = psql.query("SELECT version()")[0][0]
    t_begin = time.monotonic()
    try:
        for level in ([] if args.fleet_only else args.levels):
            log(f"level {level}: opening {level} client connections")
            with Holder(args, level):
                seen = wait_client_backends(psql, level)
                per = {"held_client_backends": seen, "loadavg": loadavg()}
                for make in (make_ours, make_theirs):
                    ex = make(args, args.workdir)
                    try:
                        per[ex.kind] = run_exporter_scenario(args, ex, psql, sampler, level)
                    finally:
                        ex.stop()
                per["loadavg_end"] = loadavg()
                results["scenarios"][str(level)] = per
        with Holder(args, 90 if not args.quick else 10) as h:
            wait_client_backends(psql, h.n)
            for n in args.fleet_sizes:
                log(f"fleet: {n} targets")
                results["fleet"].append(run_fleet(args, n, psql, sampler))
            if args.fleet_frozen:
                log(f"fleet: {args.fleet_frozen} targets + 1 black-holed")
                results["fleet"].append(run_fleet(args, args.fleet_frozen, psql, sampler, True))
    finally:
        for ex in STARTED:
            ex.stop(timeout=5)
        sampler.stop_event.set()
        sampler.join(timeout=5)
        psql.close()
    results["elapsed_s"] = time.monotonic() - t_begin
    results["machine"]["loadavg_end"] = loadavg()
    if args.micro_json and os.path.exists(args.micro_json):
        with open(args.micro_json) as f:
            results["micro"] = json.load(f)

    rows = build_rows(results)
    results["table"] = [dict(zip(("scenario", "metric", "ours", "theirs", "ratio", "target",
                                  "verdict"), r)) for r in rows]
    m = results["machine"]
    head = (f"pgconn_exporter vs postgres_exporter, {results['mode']} run {stamp}\n"
            f"machine: {m['cores']} cores ({m['cpu_model']}), {m['mem_total_mib']} MiB, kernel "
            f"{m['kernel']}; load average at start {m['loadavg_start']}, at end "
            f"{m['loadavg_end']}\n"
            f"versions: {m['pgconn_exporter']}; {m['postgres_exporter']}; "
            f"{results['postgres'].split(' on ')[0]}\n"
            f"elapsed {results['elapsed_s']:.0f} s; command: {args.command}"
            + (f" (PostgreSQL, exporters and clients at nice {args.nice})" if args.nice else "")
            + ("; sequential scrapes at SCHED_FIFO (exporter, its backends, curl)"
               if args.rt else ""))
    print(head)
    print()
    print(render_table(rows, markdown=False))
    micro_md = render_micro(results.get("micro"))
    if micro_md:
        print()
        print(micro_md)

    os.makedirs(args.results_dir, exist_ok=True)
    base = os.path.join(args.results_dir, stamp)
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=2, default=str)
    with open(base + ".md", "w") as f:
        f.write(f"# Benchmark {stamp} ({results['mode']})\n\n")
        f.write("```\n" + head + "\n```\n\n")
        f.write(render_table(rows, markdown=True) + "\n")
        if micro_md:
            f.write("\n## Micro-benchmarks\n\n" + micro_md + "\n")
    shutil.copyfile(base + ".md", os.path.join(args.results_dir, "latest.md"))
    print(f"\nwrote {base}.json and {base}.md", file=sys.stderr)
    shutil.rmtree(args.workdir, ignore_errors=True)


def server_cost_main(args):
    args.levels, args.cost_scrapes = [10, 90, 900], 100 if args.quick else 300
    args.poll_cost_seconds = 8 if args.quick else 20
    psql = Psql(args.pg_bin, args.pg_sock, args.pg_port)
    try:
        cost = run_server_cost(args, psql)
    finally:
        for ex in STARTED:
            ex.stop(timeout=5)
        psql.close()
    table = render_server_cost(cost)
    print(f"server cost per poll, {args.ours_bin}\n{table}")
    os.makedirs(args.results_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(args.results_dir, f"server-cost-{stamp}.json"), "w") as f:
        json.dump(cost, f, indent=2, default=str)
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
