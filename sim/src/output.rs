//! Run folders: atomic writes, digests and the manifest.
//!
//! A run writes into a hidden staging folder beside its destination (`.NAME.partial-PID`);
//! every file inside is written to `FILE.tmp` and renamed when complete, its SHA-256 taken
//! from the bytes as they were written. Only when every file and the manifest are in place is
//! the staging folder renamed to the run folder, so a run folder either exists complete or not
//! at all. A failed or interrupted run leaves no run folder (and a dropped [`RunDir`] removes
//! its staging folder).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's format tag.
pub const MANIFEST_FORMAT: &str = "taosim-run/1";

/// What a run folder records about how it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format tag, [`MANIFEST_FORMAT`].
    pub format: String,
    /// The taosim version that wrote the run.
    pub taosim_version: String,
    /// The build that wrote the run (git commit, binary digest, compiler, target); absent
    /// where the writer set none (the library's tests) and in manifests written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
    /// The seed the run used.
    pub seed: u64,
    /// The resolved scenario (defaults applied, overrides included).
    pub scenario: serde_json::Value,
    /// The calibration profile the run used, if any (its name, origin and digest).
    pub calibration_profile: Option<serde_json::Value>,
    /// SHA-256 (hex) of every output file, by file name.
    pub outputs: BTreeMap<String, String>,
}

/// The exact build of the program that wrote a run, so a published run names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// `git rev-parse HEAD` of the source when it was built, or `unknown`.
    pub git_commit: String,
    /// SHA-256 (hex) of the running executable, or `unknown` where it cannot be read.
    pub binary_sha256: String,
    /// `rustc --version` of the compiler that built it.
    pub rustc: String,
    /// The target triple it was built for.
    pub target: String,
}

/// What the program knows about its own build (set once by the command line at start).
static BUILD: std::sync::OnceLock<(String, String, String)> = std::sync::OnceLock::new();
/// The running executable's digest, taken once, when the first manifest needs it.
static BINARY_SHA256: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records the build (git commit, rustc version, target) that every later manifest names.
/// The command line calls it at start with what its build script captured; later calls are
/// ignored.
pub fn set_build(git_commit: &str, rustc: &str, target: &str) {
    let _ = BUILD.set((git_commit.to_string(), rustc.to_string(), target.to_string()));
}

/// The build to record in a manifest, `None` when [`set_build`] was not called.
pub fn build_info() -> Option<BuildInfo> {
    let (git_commit, rustc, target) = BUILD.get()?.clone();
    let binary_sha256 = BINARY_SHA256
        .get_or_init(|| {
            std::env::current_exe().and_then(|exe| file_digest(&exe)).unwrap_or_else(|_| "unknown".to_string())
        })
        .clone();
    Some(BuildInfo { git_commit, binary_sha256, rustc, target })
}

/// A writer that hashes every byte it passes on.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new() }
    }

    /// The wrapped writer and the hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String) {
        (self.inner, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An output file being written: buffered, hashed, under a temporary name.
pub struct OutputFile {
    name: String,
    tmp_path: PathBuf,
    final_path: PathBuf,
    writer: HashingWriter<BufWriter<File>>,
}

impl OutputFile {
    /// The file's name inside the run folder.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// SHA-256 (hex) of bytes in memory, as [`file_digest`] gives it for a file holding them.
pub fn bytes_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) of a file's bytes.
pub fn file_digest(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A run folder under construction.
#[derive(Debug)]
pub struct RunDir {
    final_path: PathBuf,
    staging: PathBuf,
    force: bool,
    digests: BTreeMap<String, String>,
    committed: bool,
}

impl RunDir {
    /// Starts a run folder at `path`. Fails at once (before any simulation work) if `path`
    /// names no folder (`.`, `/`), if it exists and `force` is false, if `force` would replace
    /// something that is not a taosim run folder, or if the staging folder cannot be created.
    /// Clears staging folders that killed runs left in the same parent.
    pub fn create(path: &Path, force: bool) -> Result<Self> {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(Error::OutputRefused {
                path: path.to_path_buf(),
                message: "names no folder to create; give a new folder's name, such as runs/my-run".into(),
            });
        };
        check_replaceable(path, force)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, "cannot create the output folder", e))?;
        crate::debris::clear_stale(&parent);
        let staging = parent.join(crate::debris::staging_name(&name, std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, "cannot clear a stale staging folder", e))?;
        }
        fs::create_dir(&staging).map_err(|e| Error::io(&parent, "cannot create the run folder", e))?;
        crate::debris::register(&staging);
        Ok(Self { final_path: path.to_path_buf(), staging, force, digests: BTreeMap::new(), committed: false })
    }

    /// Starts a new run folder `root/stem`, or `root/stem-2`, `-3`, ... if taken: running the
    /// same command twice gives two folders.
    pub fn create_unique(root: &Path, stem: &str) -> Result<Self> {
        let mut n = 1u32;
        loop {
            let name = if n == 1 { stem.to_string() } else { format!("{stem}-{n}") };
            let path = root.join(name);
            if !path.exists() {
                return Self::create(&path, false);
            }
            n += 1;
        }
    }

    /// Where the run folder will be once committed.
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    /// Opens output file `name` for streaming writes.
    pub fn open(&self, name: &str) -> Result<OutputFile> {
        let final_path = self.staging.join(name);
        let tmp_path = self.staging.join(format!("{name}.tmp"));
        let file = File::create(&tmp_path).map_err(|e| Error::io(&tmp_path, "cannot create an output file", e))?;
        Ok(OutputFile {
            name: name.to_string(),
            tmp_path,
            final_path,
            writer: HashingWriter::new(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Completes a file opened with [`RunDir::open`]: flushes it, renames it into place and
    /// records its digest.
    pub fn close(&mut self, file: OutputFile) -> Result<String> {
        let OutputFile { name, tmp_path, final_path, writer } = file;
        let (buffered, digest) = writer.finish();
        let file = buffered.into_inner().map_err(|e| Error::io(&tmp_path, "cannot write", e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp_path, "cannot write", e))?;
        drop(file);
        fs::rename(&tmp_path, &final_path).map_err(|e| Error::io(&final_path, "cannot rename into place", e))?;
        self.digests.insert(name, digest.clone());
        Ok(digest)
    }

    /// Writes a whole output file at once.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<String> {
        let mut file = self.open(name)?;
        file.write_all(bytes).map_err(|e| Error::io(self.staging.join(name), "cannot write", e))?;
        self.close(file)
    }

    /// Digests of the files completed so far.
    pub fn digests(&self) -> &BTreeMap<String, String> {
        &self.digests
    }

    /// Writes the manifest (with the digests of every completed file) and moves the folder
    /// into place. With `force`, an existing folder at the destination is replaced.
    pub fn commit(mut self, mut manifest: Manifest) -> Result<PathBuf> {
        manifest.outputs = self.digests.clone();
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Write { path: self.staging.join(MANIFEST), message: e.to_string() })?;
        let mut file = self.open(MANIFEST)?;
        file.write_all(&json).map_err(|e| Error::io(self.staging.join(MANIFEST), "cannot write", e))?;
        file.write_all(b"\n").map_err(|e| Error::io(self.staging.join(MANIFEST), "cannot write", e))?;
        self.close(file)?;
        self.digests.remove(MANIFEST);
        let target = &self.final_path;
        // Checked again: the target may have appeared or changed while the run was simulated.
        check_replaceable(target, self.force)?;
        if target.exists() {
            let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let old = self.staging.with_file_name(crate::debris::old_name(&name, std::process::id()));
            fs::rename(target, &old).map_err(|e| Error::io(target, "cannot move the old run folder aside", e))?;
            crate::debris::register(&old);
            fs::rename(&self.staging, target)
                .map_err(|e| Error::io(target, "cannot move the run folder into place", e))?;
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, "cannot remove the replaced run folder", e))?;
            crate::debris::unregister(&old);
        } else {
            fs::rename(&self.staging, target)
                .map_err(|e| Error::io(target, "cannot move the run folder into place", e))?;
        }
        crate::debris::unregister(&self.staging);
        self.committed = true;
        Ok(target.clone())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed && fs::remove_dir_all(&self.staging).is_ok() {
            crate::debris::unregister(&self.staging);
        }
    }
}

/// Whether a taosim run folder may go at `path`: nothing is there, or (with `force`) a run
/// folder is, one that holds a `manifest.json`. `--force` never replaces a file or any other
/// folder, so a mistyped `--out` cannot wipe a home or project folder.
fn check_replaceable(path: &Path, force: bool) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Ok(()) };
    if !force {
        return Err(Error::OutputExists(path.to_path_buf()));
    }
    let what = if meta.is_dir() {
        if path.join(MANIFEST).is_file() {
            return Ok(());
        }
        "a folder that is not a taosim run folder (no manifest.json)"
    } else {
        "not a folder"
    };
    Err(Error::OutputRefused {
        path: path.to_path_buf(),
        message: format!("is {what}; --force replaces only run folders: remove it yourself or choose another --out"),
    })
}

/// Reads a run folder's manifest.
pub fn read_manifest(run_dir: &Path) -> Result<Manifest> {
    let path = run_dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            Error::Manifest { path: path.clone(), message: "no manifest: not a taosim run folder".into() }
        }
        _ => Error::io(&path, "cannot read", e),
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Manifest { path: path.clone(), message: format!("malformed manifest: {e}") })?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(Error::Manifest {
            path,
            message: format!("format `{}` is not `{MANIFEST_FORMAT}`", manifest.format),
        });
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            taosim_version: "test".into(),
            build: None,
            seed: 1,
            scenario: serde_json::json!({}),
            calibration_profile: None,
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn a_run_folder_appears_only_when_committed_with_digests_of_its_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("runs/a");
        let mut dir = RunDir::create(&target, false).expect("create");
        let digest = dir.write("x.txt", b"hello").expect("write");
        assert_eq!(digest, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(!target.exists(), "nothing visible before commit");
        let path = dir.commit(manifest()).expect("commit");
        let m = read_manifest(&path).expect("manifest");
        assert_eq!(m.outputs.get("x.txt").map(String::as_str), Some(digest.as_str()));
        assert_eq!(file_digest(&path.join("x.txt")).expect("digest"), digest);
        let leftovers: Vec<_> = fs::read_dir(tmp.path().join("runs")).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "staging folder renamed, nothing else left");
    }

    #[test]
    fn existing_folders_are_kept_unless_forced_and_dropped_runs_leave_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("a");
        RunDir::create(&target, false).expect("create").commit(manifest()).expect("commit");
        assert!(matches!(RunDir::create(&target, false), Err(Error::OutputExists(_))));
        {
            let mut d = RunDir::create(&target, true).expect("forced");
            d.write("y.txt", b"y").expect("write");
            // dropped without commit: the old folder stays as it was, no staging left
        }
        assert!(!target.join("y.txt").exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 1);
        let mut d = RunDir::create(&target, true).expect("forced");
        d.write("y.txt", b"y").expect("write");
        d.commit(manifest()).expect("commit");
        assert!(target.join("y.txt").exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 1);
    }

    #[test]
    fn unique_folders_never_collide() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = RunDir::create_unique(tmp.path(), "s").expect("a").commit(manifest()).expect("commit");
        let b = RunDir::create_unique(tmp.path(), "s").expect("b").commit(manifest()).expect("commit");
        assert_eq!(a.file_name().and_then(|n| n.to_str()), Some("s"));
        assert_eq!(b.file_name().and_then(|n| n.to_str()), Some("s-2"));
    }
}
