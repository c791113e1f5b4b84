//! Finding and running SUMO: the real `$SUMO_HOME/bin/sumo` binary (not the Python wrapper, so
//! killing it kills SUMO), killed and reaped on every path by [`SumoProcess`]'s `Drop`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `SUMO_HOME` from the environment, or from the project's venv (`tools/setup-sumo.sh`).
pub fn sumo_home() -> Result<PathBuf, String> {
    if let Ok(h) = std::env::var("SUMO_HOME") {
        let p = PathBuf::from(h);
        if p.join("bin/sumo").exists() {
            return Ok(p);
        }
    }
    let venv = std::env::var("GREENWAVE_SUMO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/sumo-venv"));
    let py = venv.join("bin/python");
    let out = Command::new(&py)
        .args(["-c", "import sumo; print(sumo.SUMO_HOME)"])
        .output()
        .map_err(|e| {
            format!(
                "SUMO not found: set SUMO_HOME or run tools/setup-sumo.sh ({}: {e})",
                py.display()
            )
        })?;
    let home = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !home.join("bin/sumo").exists() {
        return Err(format!("SUMO not found in {}: run tools/setup-sumo.sh", venv.display()));
    }
    Ok(home)
}

/// A running SUMO, killed and reaped when dropped.
pub struct SumoProcess {
    child: Child,
    pub log: PathBuf,
}

impl SumoProcess {
    pub fn spawn(home: &Path, args: &[String], log: &Path) -> Result<SumoProcess, String> {
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(home.join("bin/sumo"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", home.join("bin/sumo").display()))?;
        Ok(SumoProcess {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Err with the end of SUMO's log if it has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("SUMO exited ({status}): {}", self.tail())),
            Err(e) => Err(format!("cannot query SUMO: {e}")),
        }
    }

    /// Waits for a normal exit (after `close`), bounded.
    pub fn wait(&mut self, limit: std::time::Duration) -> Result<(), String> {
        let start = std::time::Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) if s.success() => return Ok(()),
                Ok(Some(s)) => return Err(format!("SUMO exited ({s}): {}", self.tail())),
                Ok(None) if start.elapsed() > limit => return Err("SUMO did not exit after close".into()),
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for SumoProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The command line shared by every run: net, routes, additional files (detectors, programs),
/// step length, seed, trip output, quiet logs.
pub fn run_args(net: &Path, routes: &str, additional: &str, step_s: f64, seed: u64, trip: &Path) -> Vec<String> {
    [
        "-n",
        &net.display().to_string(),
        "-r",
        routes,
        "-a",
        additional,
        "--step-length",
        &format!("{step_s:.3}"),
        "--seed",
        &seed.to_string(),
        "--tripinfo-output",
        &trip.display().to_string(),
        "--no-step-log",
        "true",
        "--duration-log.disable",
        "true",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A free TCP port on localhost (bind to port 0, read it back, release).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Runs one of SUMO's tools (`cmd`, e.g. `python3 $SUMO_HOME/tools/X.py …`) with `SUMO_HOME` and
/// its `tools` folder on `PYTHONPATH`; its standard output, or its last stderr lines on failure.
pub fn run_tool(home: &Path, cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .env("SUMO_HOME", home)
        .env("PYTHONPATH", home.join("tools"))
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
