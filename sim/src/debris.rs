//! What a killed process leaves behind, and how it is cleaned up.
//!
//! Outputs are built in hidden staging folders beside their destination
//! (`.NAME.partial-PID`) and renamed into place when complete, so a killed process never leaves
//! a half-written run folder; but it does leave its staging folder. Two mechanisms remove it:
//!
//! * A *watcher*: the command line starts a small helper process (`taosim` itself, in a
//!   process group of its own so that Ctrl-C does not reach it) and tells it, over a pipe,
//!   which staging folders exist ([`register`], [`unregister`]). When the pipe closes, the
//!   process that wrote it has ended, however it ended (Ctrl-C, SIGTERM, even SIGKILL), and the
//!   helper removes every folder still registered ([`reap`]). This needs no signal handler
//!   (which std does not offer and the workspace's `unsafe_code = "deny"` rules out).
//! * A *sweep of stale folders*: the next run into the same parent folder removes staging
//!   folders whose process no longer exists ([`clear_stale`]), for when the helper was killed
//!   too (a job scheduler ending the whole process group).
//!
//! Without a watcher (the library's own tests, benchmarks) registration does nothing.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The pipe to the watcher, when one was started.
static WATCHER: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends every later [`register`] and [`unregister`] to `sink` (the watcher's stdin).
pub fn set_watcher(sink: Box<dyn Write + Send>) {
    if let Ok(mut w) = WATCHER.lock() {
        *w = Some(sink);
    }
}

fn tell(sign: char, path: &Path) {
    let Ok(mut guard) = WATCHER.lock() else { return };
    let Some(sink) = guard.as_mut() else { return };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let line = format!("{sign}{}\n", hex::encode(absolute.to_string_lossy().as_bytes()));
    // A watcher that is gone only means no cleanup after a kill; the next run's
    // [`clear_stale`] still removes the folder.
    if sink.write_all(line.as_bytes()).and_then(|()| sink.flush()).is_err() {
        *guard = None;
    }
}

/// Tells the watcher that staging folder `path` exists and must go if this process dies.
pub fn register(path: &Path) {
    tell('+', path);
}

/// Tells the watcher that staging folder `path` was renamed into place or removed.
pub fn unregister(path: &Path) {
    tell('-', path);
}

/// The staging folder name for `name` written by process `pid`.
pub fn staging_name(name: &str, pid: u32) -> String {
    format!(".{name}.partial-{pid}")
}

/// The name an old run folder gets while `--force` replaces it.
pub fn old_name(name: &str, pid: u32) -> String {
    format!(".{name}.old-{pid}")
}

/// A staging folder beside its destination, removed when dropped unless moved into place
/// with [`StagingDir::finish`]: outputs built in it appear whole or not at all.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
    target: PathBuf,
    finished: bool,
}

impl StagingDir {
    /// Creates the staging folder for `target` (`.NAME.partial-PID` in its parent), after
    /// clearing what killed processes left there.
    pub fn create(target: &Path) -> std::io::Result<Self> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "names no folder to create"))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        clear_stale(&parent);
        let path = parent.join(staging_name(&name, std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir(&path)?;
        register(&path);
        Ok(Self { path, target: target.to_path_buf(), finished: false })
    }

    /// The staging folder, to build the output in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the staging folder to its target. An empty folder there is replaced; anything
    /// else only with `replace` (a folder the caller has checked may go): it is moved aside
    /// first and removed after, so the target is never missing a complete folder.
    pub fn finish(mut self, replace: bool) -> std::io::Result<PathBuf> {
        let empty_dir = std::fs::read_dir(&self.target).is_ok_and(|mut e| e.next().is_none());
        if empty_dir {
            std::fs::remove_dir(&self.target)?;
        }
        if std::fs::symlink_metadata(&self.target).is_ok() {
            if !replace {
                return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the target exists"));
            }
            let name = self.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let old = self.path.with_file_name(old_name(&name, std::process::id()));
            std::fs::rename(&self.target, &old)?;
            register(&old);
            std::fs::rename(&self.path, &self.target)?;
            std::fs::remove_dir_all(&old)?;
            unregister(&old);
        } else {
            std::fs::rename(&self.path, &self.target)?;
        }
        unregister(&self.path);
        self.finished = true;
        Ok(self.target.clone())
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.finished && std::fs::remove_dir_all(&self.path).is_ok() {
            unregister(&self.path);
        }
    }
}

/// The process id in a staging (`.NAME.partial-PID`) or replaced (`.NAME.old-PID`) folder's
/// name; `None` for any other name.
pub fn debris_pid(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    let (stem, pid) = rest.rsplit_once('-')?;
    let name = stem.strip_suffix(".partial").or_else(|| stem.strip_suffix(".old"))?;
    if name.is_empty() {
        return None;
    }
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` is running: `None` where that cannot be told (no `/proc`), so that
/// nothing is removed on such systems.
fn pid_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists())
}

/// Parents already cleared by this process: a sweep starts thousands of runs in one `runs/`
/// folder, which is listed once, not once per run.
static CLEARED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Removes the staging folders in `parent` left by processes that no longer run (once per
/// parent and process). Best effort: a folder that cannot be removed stays (the run itself
/// does not depend on it).
pub fn clear_stale(parent: &Path) {
    let key = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    if let Ok(mut cleared) = CLEARED.lock()
        && !cleared.insert(key)
    {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = debris_pid(&name) else { continue };
        if pid_alive(pid) == Some(false) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The watcher's loop: reads `+HEX` / `-HEX` lines until the pipe closes, then removes every
/// folder still registered. Only folders named like staging folders are ever removed.
pub fn reap(input: impl BufRead) -> Vec<PathBuf> {
    let mut live: BTreeSet<PathBuf> = BTreeSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let mut chars = line.chars();
        let sign = chars.next();
        let Some(path) = hex::decode(chars.as_str()).ok().and_then(|b| String::from_utf8(b).ok()) else { continue };
        match sign {
            Some('+') => {
                live.insert(PathBuf::from(path));
            }
            Some('-') => {
                live.remove(Path::new(&path));
            }
            _ => {}
        }
    }
    let mut removed = Vec::new();
    for path in live {
        let named_as_debris = path.file_name().and_then(|n| n.to_str()).and_then(debris_pid).is_some();
        if named_as_debris && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staging_and_replaced_folder_names_carry_a_pid() {
        assert_eq!(debris_pid(".run.partial-123"), Some(123));
        assert_eq!(debris_pid(".a.b.old-7"), Some(7));
        assert_eq!(debris_pid(".taosim-replay-9.partial-9"), Some(9));
        for other in
            ["run.partial-1", ".partial-1", "..old-3", ".run.partial-", ".run.partial-x1", ".run-1", "runs", ".git"]
        {
            assert_eq!(debris_pid(other), None, "{other}");
        }
    }

    #[test]
    fn stale_folders_of_dead_processes_go_and_live_ones_stay() {
        if pid_alive(1).is_none() {
            // No /proc on this system: clear_stale removes nothing by design; the assertion
            // below would then be about nothing.
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        // PIDs above the kernel's limit (4194304 at most) never run.
        let dead = tmp.path().join(".r.partial-4294967295");
        let mine = tmp.path().join(staging_name("r", std::process::id()));
        let keep = tmp.path().join("r");
        for d in [&dead, &mine, &keep] {
            std::fs::create_dir(d).expect("mkdir");
        }
        clear_stale(tmp.path());
        assert!(!dead.exists() && mine.exists() && keep.exists());
    }

    #[test]
    fn a_staging_folder_appears_whole_replaces_only_what_it_may_and_goes_when_dropped() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("out");
        let names = || {
            let mut n: Vec<String> = std::fs::read_dir(tmp.path())
                .expect("ls")
                .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        // Dropped: nothing left.
        let staging = StagingDir::create(&target).expect("create");
        std::fs::write(staging.path().join("a"), "1").expect("write");
        drop(staging);
        assert!(names().is_empty(), "{:?}", names());
        // An empty folder is replaced; a full one only when allowed.
        std::fs::create_dir(&target).expect("mkdir");
        let staging = StagingDir::create(&target).expect("create");
        std::fs::write(staging.path().join("a"), "1").expect("write");
        staging.finish(false).expect("finish");
        assert_eq!(names(), ["out"]);
        let staging = StagingDir::create(&target).expect("create");
        std::fs::write(staging.path().join("b"), "2").expect("write");
        assert_eq!(staging.finish(false).expect_err("refused").kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(names(), ["out"], "the refused staging folder was dropped");
        assert!(target.join("a").exists());
        let staging = StagingDir::create(&target).expect("create");
        std::fs::write(staging.path().join("b"), "2").expect("write");
        staging.finish(true).expect("finish");
        assert_eq!(names(), ["out"], "no .out.old-PID left");
        assert!(target.join("b").exists() && !target.join("a").exists());
    }

    #[test]
    fn the_reaper_removes_what_is_still_registered_when_the_pipe_closes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let done = tmp.path().join(".a.partial-1");
        let live = tmp.path().join(".b.partial-1");
        let not_debris = tmp.path().join("c");
        for d in [&done, &live, &not_debris] {
            std::fs::create_dir(d).expect("mkdir");
        }
        let line = |sign: char, p: &Path| format!("{sign}{}\n", hex::encode(p.to_string_lossy().as_bytes()));
        let input = [line('+', &done), line('+', &live), line('-', &done), line('+', &not_debris)].concat();
        let removed = reap(input.as_bytes());
        assert_eq!(removed, std::slice::from_ref(&live));
        assert!(done.exists() && !live.exists() && not_debris.exists());
    }
}
