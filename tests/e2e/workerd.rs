//! One launcher for the end-to-end tests that run the built Worker in a workerd of their own
//! (no wrangler in the path): [`Launch`] writes `workerd.capnp` into a test's directory, starts
//! workerd there and waits for its port; the [`Workerd`] it returns stops it on drop.
//!
//! The config it writes: the built Worker (`build/`, or `EDGEDNS_WORKER_BUILD`) as service
//! `main` on `127.0.0.1:<port>`; a disk directory as its KV namespace `ZONES` (`GET /<key>` reads
//! the file `<key>`); each variable as a text binding; optionally a network service named
//! `internet` (workerd's default outbound) that lets the Worker's `fetch` reach loopback; and
//! optionally a scheduler, a small front worker whose `/__scheduled?time=MS` runs the Worker's
//! `scheduled` handler through a service binding (as a Cron Trigger would, and as wrangler's
//! `/cdn-cgi/handler/scheduled` does) and which passes every other request on to the Worker;
//! and optionally a test Analytics Engine binding `ANALYTICS` (a `wrapped` binding whose
//! `writeDataPoint` hands each point to a recorder worker, which lists them at
//! `GET /points` on a port of its own), since local runtimes drop real Analytics Engine writes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// The scheduler's front worker (see the module doc): answers `/__scheduled` with the run's
/// outcome, 200 when it is `ok`, 500 otherwise.
const SCHEDULER: &str = r#"export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__scheduled") {
      const time = url.searchParams.get("time");
      const result = await env.MAIN.scheduled({ scheduledTime: new Date(time ? Number(time) : Date.now()), cron: "* * * * *" });
      return new Response(result.outcome, { status: result.outcome === "ok" ? 200 : 500 });
    }
    return env.MAIN.fetch(request);
  },
};
"#;

/// The test Analytics Engine binding's module: `writeDataPoint` (synchronous, as the real
/// binding's) copies the point and sends it to the recorder.
const ANALYTICS_BINDING: &str = r#"export default function (env) {
  return {
    writeDataPoint(point) {
      const copy = JSON.stringify({ indexes: point.indexes || [], blobs: point.blobs || [], doubles: point.doubles || [] });
      env.RECORDER.fetch("http://recorder/points", { method: "POST", body: copy }).catch(() => {});
    },
  };
}
"#;

/// The recorder: keeps the points posted to it, lists them at `GET /points`.
const ANALYTICS_RECORDER: &str = r#"const points = [];
export default {
  async fetch(request) {
    if (request.method === "POST") {
      points.push(JSON.parse(await request.text()));
      return new Response("recorded");
    }
    return new Response(JSON.stringify(points), { headers: { "content-type": "application/json" } });
  },
};
"#;

/// What to run in a fresh workerd; [`Launch::start`] starts it.
pub(super) struct Launch {
    dir: PathBuf,
    port: u16,
    kv: PathBuf,
    writable: bool,
    vars: Vec<(String, String)>,
    network: bool,
    scheduler: Option<u16>,
    analytics: Option<u16>,
    clean_up: bool,
    build: Option<PathBuf>,
}

impl Launch {
    /// The built Worker on `127.0.0.1:port`, its config and log in `dir`, its KV the
    /// read-only directory `dir/kv`, no variables, `fetch` to public addresses only.
    pub(super) fn new(dir: &Path, port: u16) -> Self {
        Self {
            dir: dir.to_owned(),
            port,
            kv: dir.join("kv"),
            writable: false,
            vars: Vec::new(),
            network: false,
            scheduler: None,
            analytics: None,
            clean_up: false,
            build: None,
        }
    }

    /// Another directory as the KV namespace (one several workerds share, say).
    /// Another build of the Worker than `build/` (or `EDGEDNS_WORKER_BUILD`).
    pub(super) fn build(mut self, build: &Path) -> Self {
        self.build = Some(build.to_owned());
        self
    }

    pub(super) fn kv(mut self, kv: &Path) -> Self {
        self.kv = kv.to_owned();
        self
    }

    /// A KV namespace the Worker can write to (a health run, the admin API).
    pub(super) fn writable(mut self) -> Self {
        self.writable = true;
        self
    }

    /// A worker variable (a text binding).
    pub(super) fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Worker variables, each `NAME=VALUE`.
    pub(super) fn vars<'a>(self, pairs: impl IntoIterator<Item = &'a str>) -> Self {
        pairs.into_iter().fold(self, |launch, pair| {
            let (name, value) = pair.split_once('=').unwrap_or_else(|| panic!("{pair} is not NAME=VALUE"));
            launch.var(name, value)
        })
    }

    /// Lets the Worker's `fetch` reach loopback and private addresses (the tests' own
    /// upstreams and probed servers).
    pub(super) fn network(mut self) -> Self {
        self.network = true;
        self
    }

    /// The scheduler on `port`; on the Worker's own port, every request goes through it.
    pub(super) fn scheduler(mut self, port: u16) -> Self {
        self.scheduler = Some(port);
        self
    }

    /// The test Analytics Engine binding `ANALYTICS`, its recorder's `GET /points` on `port`.
    pub(super) fn analytics(mut self, port: u16) -> Self {
        self.analytics = Some(port);
        self
    }

    /// Removes `dir` when the guard is dropped, unless the test is failing (then the log and
    /// the KV directory are kept to tell what happened).
    pub(super) fn clean_up(mut self) -> Self {
        self.clean_up = true;
        self
    }

    /// Writes the config, starts workerd and waits (up to 10 s) until it listens on the port.
    pub(super) fn start(self) -> Workerd {
        std::fs::create_dir_all(&self.dir).unwrap();
        let build = self.build.clone().unwrap_or_else(|| PathBuf::from(std::env::var("EDGEDNS_WORKER_BUILD").unwrap_or_else(|_| "build".into())));
        for file in ["index.js", "index_bg.wasm"] {
            std::fs::copy(build.join(file), self.dir.join(file)).unwrap_or_else(|e| panic!("{}: {e} (make worker)", build.join(file).display()));
        }
        if self.scheduler.is_some() {
            std::fs::write(self.dir.join("scheduler.js"), SCHEDULER).unwrap();
        }
        if self.analytics.is_some() {
            std::fs::write(self.dir.join("analytics-binding.js"), ANALYTICS_BINDING).unwrap();
            std::fs::write(self.dir.join("analytics-recorder.js"), ANALYTICS_RECORDER).unwrap();
        }
        std::fs::write(self.dir.join("workerd.capnp"), self.config()).unwrap();
        let log = std::fs::File::create(self.dir.join("workerd.log")).unwrap();
        let mut command = Command::new(std::fs::canonicalize("node_modules/.bin/workerd").expect("workerd is installed"));
        command.arg("serve").arg("--verbose");
        if self.scheduler.is_some() {
            // `service_binding_extra_handlers` (calling `scheduled()` through a binding) is experimental.
            command.arg("--experimental");
        }
        let child = command.arg("workerd.capnp").current_dir(&self.dir).stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("workerd starts");
        let mut workerd = Workerd { child, dir: self.dir, port: self.port, clean_up: self.clean_up };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", workerd.port)).is_ok() {
                return workerd;
            }
            if let Ok(Some(status)) = workerd.child.try_wait() {
                panic!("workerd exited ({status}): {}", workerd.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("workerd did not listen on {}: {}", workerd.port, workerd.log());
    }

    fn config(&self) -> String {
        let date = compatibility_date();
        let mut services = vec![
            "(name = \"main\", worker = .edgedns)".to_owned(),
            format!("(name = \"kv\", disk = (path = \"{}\", writable = {}))", self.kv.display(), self.writable),
        ];
        if self.network {
            services.push("(name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"]))".to_owned());
        }
        let mut sockets = Vec::new();
        let mut front = String::new();
        if let Some(scheduler) = self.scheduler {
            services.push("(name = \"scheduler\", worker = .scheduler)".to_owned());
            if scheduler != self.port {
                sockets.push(format!("(name = \"scheduler\", address = \"127.0.0.1:{scheduler}\", http = (), service = \"scheduler\")"));
            }
            front = format!(
                "const scheduler :Workerd.Worker = (\n  modules = [ (name = \"scheduler.js\", esModule = embed \"scheduler.js\") ],\n  \
                 compatibilityDate = \"{date}\",\n  compatibilityFlags = [\"service_binding_extra_handlers\"],\n  bindings = [ (name = \"MAIN\", service = \"main\") ],\n);\n"
            );
        }
        let mut bindings = vec!["(name = \"ZONES\", kvNamespace = \"kv\")".to_owned()];
        let mut extensions = String::new();
        if let Some(recorder) = self.analytics {
            services.push("(name = \"recorder\", worker = .recorder)".to_owned());
            sockets.push(format!("(name = \"recorder\", address = \"127.0.0.1:{recorder}\", http = (), service = \"recorder\")"));
            bindings.push(
                "(name = \"ANALYTICS\", wrapped = (moduleName = \"edgedns-test:analytics\", innerBindings = [ (name = \"RECORDER\", service = \"recorder\") ]))".to_owned(),
            );
            extensions =
                "  extensions = [ (modules = [ (name = \"edgedns-test:analytics\", esModule = embed \"analytics-binding.js\", internal = true) ]) ],\n"
                    .to_owned();
            front.push_str(&format!(
                "const recorder :Workerd.Worker = (\n  modules = [ (name = \"analytics-recorder.js\", esModule = embed \"analytics-recorder.js\") ],\n  \
                 compatibilityDate = \"{date}\",\n);\n"
            ));
        }
        let entry = if self.scheduler == Some(self.port) { "scheduler" } else { "main" };
        sockets.insert(0, format!("(name = \"http\", address = \"127.0.0.1:{}\", http = (), service = \"{entry}\")", self.port));
        // A capnp text literal: quotes and backslashes escaped (JSON values hold both).
        bindings.extend(self.vars.iter().map(|(name, value)| format!("(name = \"{name}\", text = \"{}\")", value.replace('\\', "\\\\").replace('"', "\\\""))));
        format!(
            "# Written by tests/e2e/workerd.rs.\nusing Workerd = import \"/workerd/workerd.capnp\";\nconst config :Workerd.Config = (\n  \
             services = [\n    {services},\n  ],\n  sockets = [\n    {sockets},\n  ],\n{extensions});\nconst edgedns :Workerd.Worker = (\n  modules = [\n    \
             (name = \"index.js\", esModule = embed \"index.js\"),\n    (name = \"index_bg.wasm\", wasm = embed \"index_bg.wasm\"),\n  ],\n  \
             compatibilityDate = \"{date}\",\n  bindings = [\n    {bindings},\n  ],\n);\n{front}",
            services = services.join(",\n    "),
            sockets = sockets.join(",\n    "),
            bindings = bindings.join(",\n    "),
        )
    }
}

/// The `compatibility_date` in wrangler.toml, the one the Worker is deployed with.
fn compatibility_date() -> String {
    let text = std::fs::read_to_string("wrangler.toml").expect("wrangler.toml");
    let line = text.lines().find(|line| line.starts_with("compatibility_date")).expect("a compatibility_date");
    line.split('"').nth(1).expect("a quoted date").to_owned()
}

/// A running workerd, stopped on drop.
pub(super) struct Workerd {
    child: Child,
    dir: PathBuf,
    port: u16,
    clean_up: bool,
}

impl Workerd {
    /// Its output so far.
    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("workerd.log")).unwrap_or_default()
    }

    /// The Worker's port.
    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// The directory it runs in.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.clean_up && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
