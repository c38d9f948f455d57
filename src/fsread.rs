//! Reading the user's input files without trusting them: every reader of
//! manifests, suites, profiles, CRDs and allow-lists goes through here.
//!
//! - Only regular files are read. A file is opened with `O_NONBLOCK` and
//!   checked with `fstat` on the open descriptor, so a FIFO named `x.yaml`
//!   neither blocks the open nor gets read, and a file swapped for a FIFO
//!   between a `stat` and the `open` is still caught.
//! - A file is read through a limit ([`MAX_FILE_BYTES`]), not by its
//!   metadata: a file that grows while it is read stops at the limit.
//! - Directory walks remember every directory by (device, inode), so links
//!   such as `ln -s . l1` are followed once (no exponential walk, no file
//!   counted twice); files are also de-duplicated by identity; pseudo file
//!   systems (`/proc`, `/sys`, ...) are never entered.

use std::collections::HashSet;
use std::fs::Metadata;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest input file read: far above any manifest or suite, far below
/// what would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most directory entries one walk looks at: `topology: [/]` ends with
/// an error instead of reading the whole machine.
pub const MAX_WALK_ENTRIES: usize = 200_000;

/// Why an input path could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The operating system refused (missing, permission denied, ...).
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A FIFO, socket or device: reading it could block or never end.
    NotRegular {
        /// The path.
        path: PathBuf,
        /// `FIFO`, `socket`, `character device`, `block device`.
        kind: &'static str,
    },
    /// Larger than the limit.
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// Not UTF-8 text.
    NotText {
        /// The path.
        path: PathBuf,
    },
    /// A walk found too many entries.
    TooManyEntries {
        /// The walk's root.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot read {}: {}",
            self.path().display(),
            self.reason()
        )
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl ReadError {
    /// The path concerned.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotText { path }
            | ReadError::TooManyEntries { path, .. } => path,
        }
    }

    /// What is wrong and what to do, without the path (for messages that
    /// name it already).
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::NotRegular { kind, .. } => format!(
                "it is a {kind}, not a regular file (zonechaos reads only regular files; pass \
                 a regular file, or remove this one from the directory)"
            ),
            ReadError::TooLarge { limit, .. } => format!(
                "larger than the {} MiB limit for an input file (split it, or pass the files \
                 you mean)",
                limit / (1024 * 1024)
            ),
            ReadError::NotText { .. } => "not UTF-8 text (save it as UTF-8)".to_owned(),
            ReadError::TooManyEntries { limit, .. } => format!(
                "more than {limit} directory entries under it (pass the directory that holds \
                 the manifests, not a whole file system)"
            ),
        }
    }

    /// True when the path does not exist (optional files such as an
    /// allow-list treat this as empty).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReadError + '_ {
    move |source| ReadError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The name of a non-regular, non-directory file type.
fn special_kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// Reads a regular file as text, at most [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    read_text_limited(path, MAX_FILE_BYTES)
}

/// Reads a regular file as text, at most `limit` bytes.
pub fn read_text_limited(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_limited(path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotText {
        path: path.to_owned(),
    })
}

/// Reads a regular file's bytes, at most `limit`.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. It changes nothing for regular files.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_error(path))?;
    let meta = file.metadata().map_err(io_error(path))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_owned(),
            kind: special_kind(&meta),
        });
    }
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// A file's identity: the same file through any link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of what `path` names (symlinks followed).
    pub fn of(path: &Path) -> std::io::Result<FileId> {
        std::fs::metadata(path).map(|m| FileId::from_meta(&m))
    }

    fn from_meta(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// True for `*.yaml` and `*.yml`.
pub fn is_yaml_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "yaml" || e == "yml")
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// True for the kernel's pseudo file systems, whose files are not
/// manifests and may never end (`/proc/kcore`) or block.
fn is_pseudo_fs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string and `stat` a plain
    // out-parameter that statfs fills in.
    #[allow(unsafe_code)]
    let magic = unsafe {
        let mut stat: libc::statfs = std::mem::zeroed();
        if libc::statfs(c_path.as_ptr(), &mut stat) != 0 {
            return false;
        }
        stat.f_type as i64
    };
    // PROC, SYSFS, DEVPTS, CGROUP, CGROUP2, DEBUGFS, TRACEFS, SECURITYFS, BPF.
    const PSEUDO: [i64; 9] = [
        0x9fa0,
        0x6265_6572,
        0x1cd1,
        0x27e0eb,
        0x6367_7270,
        0x6462_6720,
        0x7472_6163,
        0x7363_6673,
        0xcafe_4a11,
    ];
    PSEUDO.contains(&magic)
}

/// The YAML files named by `paths`: files as given (they must be regular
/// files), directories walked as [`walk_yaml`] does; every file once, in
/// order.
#[derive(Debug, Default)]
pub struct YamlFiles {
    files: Vec<PathBuf>,
    seen_files: HashSet<FileId>,
    seen_dirs: HashSet<FileId>,
    entries: usize,
}

impl YamlFiles {
    /// An empty set.
    pub fn new() -> YamlFiles {
        YamlFiles::default()
    }

    /// Adds a path: a file as given, a directory by walking it.
    pub fn add(&mut self, path: &Path) -> Result<(), ReadError> {
        let meta = std::fs::metadata(path).map_err(io_error(path))?;
        if meta.is_dir() {
            return self.walk(path, &meta);
        }
        if !meta.is_file() {
            return Err(ReadError::NotRegular {
                path: path.to_owned(),
                kind: special_kind(&meta),
            });
        }
        self.push_file(path, &meta);
        Ok(())
    }

    fn push_file(&mut self, path: &Path, meta: &Metadata) {
        if self.seen_files.insert(FileId::from_meta(meta)) {
            self.files.push(path.to_owned());
        }
    }

    /// Depth first, entries sorted by name, hidden entries skipped; a
    /// directory already walked (through a link) is not walked again.
    fn walk(&mut self, root: &Path, meta: &Metadata) -> Result<(), ReadError> {
        if is_pseudo_fs(root) {
            return Err(ReadError::NotRegular {
                path: root.to_owned(),
                kind: "kernel pseudo file system",
            });
        }
        if !self.seen_dirs.insert(FileId::from_meta(meta)) {
            return Ok(());
        }
        // A stack of directories still to list, each with its entries
        // left, so that deep trees need no recursion.
        let mut stack: Vec<std::vec::IntoIter<PathBuf>> = vec![self.list(root, root)?];
        while let Some(top) = stack.last_mut() {
            let Some(entry) = top.next() else {
                stack.pop();
                continue;
            };
            // A dangling link or an entry gone since the listing: nothing to read.
            let Ok(meta) = std::fs::metadata(&entry) else {
                continue;
            };
            if meta.is_dir() {
                if is_pseudo_fs(&entry) || !self.seen_dirs.insert(FileId::from_meta(&meta)) {
                    continue;
                }
                let listed = self.list(root, &entry)?;
                stack.push(listed);
            } else if is_yaml_name(&entry) {
                if !meta.is_file() {
                    return Err(ReadError::NotRegular {
                        path: entry,
                        kind: special_kind(&meta),
                    });
                }
                self.push_file(&entry, &meta);
            }
        }
        Ok(())
    }

    /// A directory's visible entries, sorted.
    fn list(&mut self, root: &Path, dir: &Path) -> Result<std::vec::IntoIter<PathBuf>, ReadError> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_error(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| !is_hidden(p))
            .collect();
        self.entries += entries.len();
        if self.entries > MAX_WALK_ENTRIES {
            return Err(ReadError::TooManyEntries {
                path: root.to_owned(),
                limit: MAX_WALK_ENTRIES,
            });
        }
        entries.sort();
        Ok(entries.into_iter())
    }

    /// The files found, in order.
    pub fn into_files(self) -> Vec<PathBuf> {
        self.files
    }
}

/// The `*.yaml`/`*.yml` entries directly in `dir` (not hidden ones),
/// sorted: the suite files of a suite directory. Non-regular ones are
/// refused, as in a walk.
pub fn yaml_entries(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for entry in YamlFiles::new().list(dir, dir)? {
        if !is_yaml_name(&entry) {
            continue;
        }
        let meta = std::fs::metadata(&entry).map_err(io_error(&entry))?;
        if !meta.is_file() {
            return Err(ReadError::NotRegular {
                path: entry,
                kind: special_kind(&meta),
            });
        }
        out.push(entry);
    }
    Ok(out)
}

/// The `*.yaml`/`*.yml` files under `dir` (or `dir` itself when it is a
/// file), each once.
pub fn walk_yaml(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut files = YamlFiles::new();
    files.add(dir)?;
    Ok(files.into_files())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::Duration;

    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: c is a valid NUL-terminated path.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
        assert_eq!(rc, 0, "mkfifo");
    }

    /// Runs `f` in a thread and fails the test if it has not returned
    /// after a minute: a hang guard, not a speed assertion.
    fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("still running after a minute: it hangs")
    }

    /// issue 10 item 6: two `ln -s . lN` links are walked once, each file
    /// counted once (the old walker went exponential).
    #[test]
    fn self_links_are_walked_once_and_files_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "x: 1\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.yml"), "x: 1\n").unwrap();
        for l in ["l1", "l2", "sub/up"] {
            let target = if l == "sub/up" { ".." } else { "." };
            symlink(target, dir.path().join(l)).unwrap();
        }
        let root = dir.path().to_owned();
        let files = within_a_minute(move || walk_yaml(&root).unwrap());
        assert_eq!(
            files,
            vec![dir.path().join("a.yaml"), dir.path().join("sub/b.yml")]
        );
    }

    /// issue 10 item 6: the same file named twice (directly and through its
    /// directory, or by a link) is read once.
    #[test]
    fn a_file_named_twice_is_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        std::fs::write(&a, "x: 1\n").unwrap();
        symlink(&a, dir.path().join("link.yaml")).unwrap();
        let mut files = YamlFiles::new();
        files.add(&a).unwrap();
        files.add(dir.path()).unwrap();
        assert_eq!(files.into_files(), vec![a]);
    }

    /// issue 10 item 6: a FIFO named x.yaml in a directory is refused, not
    /// opened (the old loader blocked forever in open).
    #[test]
    fn a_fifo_in_a_directory_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        fifo(&dir.path().join("x.yaml"));
        let root = dir.path().to_owned();
        let err = within_a_minute(move || walk_yaml(&root)).unwrap_err();
        assert!(
            matches!(err, ReadError::NotRegular { kind: "FIFO", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("x.yaml"), "{err}");
    }

    /// issue 10 item 6: reading a FIFO directly neither blocks nor reads.
    #[test]
    fn reading_a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.yaml");
        fifo(&path);
        let err = within_a_minute(move || read_text(&path)).unwrap_err();
        assert!(
            err.to_string().contains("FIFO, not a regular file"),
            "{err}"
        );
    }

    /// issue 10 item 6: a link to /dev/zero is a character device: refused
    /// at once, nothing read (the old loader read until out of memory).
    #[test]
    fn a_link_to_dev_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.yaml");
        symlink("/dev/zero", &path).unwrap();
        let err = read_text(&path).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let err = walk_yaml(dir.path()).unwrap_err();
        assert!(err.to_string().contains("zero.yaml"), "{err}");
    }

    /// issue 10 item 6: a file over the limit is an error naming the limit,
    /// read only up to it; one exactly at the limit is read.
    #[test]
    fn a_file_over_the_limit_names_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let limit = 2 * 1024 * 1024;
        std::fs::write(&path, vec![b'#'; limit as usize + 1]).unwrap();
        let err = read_text_limited(&path, limit).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("2 MiB limit"), "{err}");
        assert!(err.to_string().contains("big.yaml"), "{err}");
        std::fs::write(&path, vec![b'#'; limit as usize]).unwrap();
        assert_eq!(
            read_text_limited(&path, limit).unwrap().len(),
            limit as usize
        );
    }

    /// issue 10 item 6: `topology: [/]` does not walk /proc (nor /sys).
    #[test]
    fn pseudo_file_systems_are_not_walked() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        assert!(is_pseudo_fs(Path::new("/proc")));
        assert!(!is_pseudo_fs(Path::new(env!("CARGO_MANIFEST_DIR"))));
        let err = walk_yaml(Path::new("/proc")).unwrap_err();
        assert!(err.to_string().contains("pseudo file system"), "{err}");
    }

    /// issue 10 item 6: a walk of a huge tree ends with an error naming its
    /// root instead of reading the machine.
    #[test]
    fn a_walk_stops_at_the_entry_limit() {
        let mut files = YamlFiles {
            entries: MAX_WALK_ENTRIES,
            ..YamlFiles::default()
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "").unwrap();
        let err = files.add(dir.path()).unwrap_err();
        assert!(matches!(err, ReadError::TooManyEntries { .. }), "{err}");
    }
}
