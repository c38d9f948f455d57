//! Writing output files without losing data: reports, lint output and
//! rendered manifests.
//!
//! - [`write_atomic`] writes a temporary file in the target's directory and
//!   renames it over the target: a reader (or a crash) sees the old file or
//!   the new one, never half of one. `rename(2)` replaces a symlink planted
//!   at the target path by the new file; it never writes through the link
//!   to what it points at.
//! - [`refuse_input`] stops an output that is one of the inputs
//!   (`lint m.yaml -o m.yaml`), compared by (device, inode) so that links
//!   and `./m.yaml` spellings are caught too.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::fsread::FileId;

/// Writes `bytes` to `path` atomically (temporary file in the same
/// directory, then rename). Creates no directories. A symlink at `path` is
/// replaced, not followed. The file is readable by everyone (0644), as
/// `std::fs::write` would make it under the usual umask.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Replacing a file or a link is the point; replacing a device node or
    // a FIFO someone put there is not.
    if let Ok(meta) = path.symlink_metadata() {
        let t = meta.file_type();
        if !(t.is_file() || t.is_symlink() || t.is_dir()) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a regular file: remove it or write elsewhere",
                    path.display()
                ),
            ));
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    // On error the temporary file is removed when `tmp` drops.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to a path the user named on the command line: into it
/// directly when it already is a device or FIFO, through links
/// (`-o /dev/stdout`, `/dev/null`), else as [`write_atomic`] does.
pub fn write_named(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let special = std::fs::metadata(path).is_ok_and(|m| {
        let t = m.file_type();
        !(t.is_file() || t.is_dir())
    });
    if special {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        return file.write_all(bytes);
    }
    write_atomic(path, bytes)
}

/// An output path that is also an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to write {}: it is the input {} (writing would replace it)",
    output.display(),
    input.display()
)]
pub struct OutputIsInput {
    /// The output named.
    pub output: PathBuf,
    /// The input it is.
    pub input: PathBuf,
}

/// Refuses `output` when it names the same file as one of `inputs`
/// (symlinks followed, hard links included). An output that does not exist
/// yet is no input.
pub fn refuse_input(output: &Path, inputs: &[PathBuf]) -> Result<(), OutputIsInput> {
    let Ok(id) = FileId::of(output) else {
        return Ok(());
    };
    match inputs
        .iter()
        .find(|i| FileId::of(i).is_ok_and(|other| other == id))
    {
        Some(input) => Err(OutputIsInput {
            output: output.to_owned(),
            input: input.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, symlink};

    /// issue 10 item 7: a symlink planted at the output path is replaced;
    /// the file it pointed at is unchanged.
    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let out = dir.path().join("report.json");
        symlink(&victim, &out).unwrap();
        write_atomic(&out, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!out.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}");
    }

    /// issue 10 item 7: a write that fails leaves the old file whole and no
    /// temporary file behind.
    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory at the target path: the rename fails after the write.
        let out = dir.path().join("report.json");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("keep"), "x").unwrap();
        assert!(write_atomic(&out, b"new").is_err());
        assert_eq!(std::fs::read_to_string(out.join("keep")).unwrap(), "x");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    /// issue 10 item 7: `lint -o /dev/stdout` (or /dev/null) writes into
    /// the device: the atomic rename would replace the /dev entry itself.
    #[test]
    fn a_named_device_is_written_into_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null-link");
        symlink("/dev/null", &null).unwrap();
        write_named(&null, b"x").unwrap();
        assert!(null.symlink_metadata().unwrap().file_type().is_symlink());
        // A FIFO at a report path stays a FIFO (not renamed over).
        let fifo = dir.path().join("r.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(write_atomic(&fifo, b"x").is_err());
        assert!(fifo.symlink_metadata().unwrap().file_type().is_fifo());
    }

    #[test]
    fn written_files_are_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.html");
        write_atomic(&out, b"x").unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    /// issue 10 item 7: an output that is an input, by any spelling or
    /// link, is refused; a new file is not.
    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.yaml");
        std::fs::write(&m, "x").unwrap();
        let link = dir.path().join("l.yaml");
        symlink(&m, &link).unwrap();
        let inputs = vec![m.clone()];
        assert!(refuse_input(&m, &inputs).is_err());
        assert!(refuse_input(&dir.path().join("./m.yaml"), &inputs).is_err());
        let err = refuse_input(&link, &inputs).unwrap_err();
        assert_eq!(err.input, m);
        assert!(refuse_input(&dir.path().join("new.txt"), &inputs).is_ok());
    }
}
