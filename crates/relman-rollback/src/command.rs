//! A configured local command: run as argv (no shell), bounded in time and in the output kept.
//!
//! Its output is repository-controlled text: the caller prints it through the runtime's
//! untrusted writer, never straight to stdout or stderr.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use relman_core::Error;

use crate::follow::Clock;

/// Bytes of each stream kept (the rest is read and dropped, so the command never blocks on a
/// full pipe).
pub const OUTPUT_KEPT: usize = 64 * 1024;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// `succeeded`, `failed` or `timed-out`.
    pub state: &'static str,
    /// `exit status 1`, `killed after 30m`, …
    pub detail: String,
    /// stdout then stderr, each cut at [`OUTPUT_KEPT`].
    pub output: String,
}

/// Runs `argv` in `dir`, killing it after `timeout`.
pub fn run(
    argv: &[String],
    dir: &Path,
    timeout: Duration,
    clock: &dyn Clock,
) -> Result<Ran, Error> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Usage("rollback command: empty argv".into()));
    };
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Command {
            message: format!("could not start {program:?}: {e}"),
            source: e,
        })?;
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = OUTPUT_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            kept
        })
    })
    .collect();
    let start = clock.elapsed();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if clock.elapsed().saturating_sub(start) >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => clock.sleep(Duration::from_millis(50)),
            Err(e) => {
                return Err(Error::Command {
                    message: format!("waiting for {program:?}: {e}"),
                    source: e,
                });
            }
        }
    };
    let mut output = String::new();
    for r in readers {
        let bytes = r.join().unwrap_or_default();
        output.push_str(&String::from_utf8_lossy(&bytes));
    }
    Ok(match status {
        Some(s) if s.success() => Ran {
            state: "succeeded",
            detail: s.to_string(),
            output,
        },
        Some(s) => Ran {
            state: "failed",
            detail: s.to_string(),
            output,
        },
        None => Ran {
            state: "timed-out",
            detail: format!("killed after {}s", timeout.as_secs()),
            output,
        },
    })
}

/// Whether `program` can be run from `dir`: a path (relative to `dir`) to an executable file,
/// or a name found on `PATH`. For a drill, which runs nothing.
pub fn findable(program: &str, dir: &Path, path_var: Option<&str>) -> Result<String, String> {
    let executable = |p: &Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            p.is_file()
        }
    };
    if program.contains('/') {
        let p = dir.join(program);
        return if executable(&p) {
            Ok(format!("{program} is an executable file"))
        } else {
            Err(format!(
                "{program} is not an executable file (from {})",
                dir.display()
            ))
        };
    }
    for d in std::env::split_paths(path_var.unwrap_or_default()) {
        if executable(&d.join(program)) {
            return Ok(format!("{program} is on PATH ({})", d.display()));
        }
    }
    Err(format!("{program} is not on PATH"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follow::SystemClock;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_command_runs_without_a_shell_and_its_end_is_told() {
        let dir = std::env::temp_dir();
        let clock = SystemClock::default();
        let ok = run(
            &argv(&["sh", "-c", "echo deployed $0", "v1"]),
            &dir,
            Duration::from_secs(30),
            &clock,
        )
        .expect("ran");
        assert_eq!(ok.state, "succeeded");
        assert_eq!(ok.output, "deployed v1\n");
        // No shell: `;` is an argument, not a separator.
        let literal = run(
            &argv(&["echo", "a;", "false"]),
            &dir,
            Duration::from_secs(30),
            &clock,
        )
        .expect("ran");
        assert_eq!(
            (literal.state, literal.output.as_str()),
            ("succeeded", "a; false\n")
        );
        let failed = run(&argv(&["false"]), &dir, Duration::from_secs(30), &clock).expect("ran");
        assert_eq!(failed.state, "failed");
        let slow = run(
            &argv(&["sleep", "30"]),
            &dir,
            Duration::from_millis(300),
            &clock,
        )
        .expect("ran");
        assert_eq!(slow.state, "timed-out");
        let missing = run(
            &argv(&["/no/such/program"]),
            &dir,
            Duration::from_secs(1),
            &clock,
        )
        .expect_err("not started");
        // The runner's environment failed, not a forge: its own kind, still exit 3.
        assert!(
            matches!(&missing, Error::Command { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound),
            "{missing:?}"
        );
        assert_eq!(missing.exit_code(), relman_core::ExitCode::External);
        assert!(
            missing
                .to_string()
                .starts_with("command: could not start \"/no/such/program\": "),
            "{missing}"
        );
        // A flood is read to the end (never blocks) and kept bounded.
        let flood = run(
            &argv(&["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"]),
            &dir,
            Duration::from_secs(30),
            &clock,
        )
        .expect("ran");
        assert_eq!(
            (flood.state, flood.output.len()),
            ("succeeded", OUTPUT_KEPT)
        );
    }

    #[test]
    fn a_drill_finds_programs_without_running_them() {
        let path = std::env::var("PATH").ok();
        assert!(findable("sh", Path::new("/"), path.as_deref()).is_ok());
        assert!(findable("no-such-program-xyz", Path::new("/"), path.as_deref()).is_err());
        assert!(findable("./bin/sh", Path::new("/"), None).is_ok());
        assert!(findable("./nope.sh", Path::new("/"), None).is_err());
    }
}
