//! Reading and writing the files stackc is handed, safely.
//!
//! - [`read_regular`]: a file read is a regular file of bounded size. It is
//!   opened without blocking (a FIFO would otherwise wait for a writer
//!   forever) and checked on the open handle, so `/dev/zero`, a FIFO or a
//!   directory is a clear error, never a hang or an out-of-memory kill.
//! - [`write_replacing`]: a file written replaces only a regular file (or
//!   nothing): never a device node, a FIFO, a directory or a symlink (which
//!   would be replaced, or written through). The bytes go to a new temp file
//!   in the same directory with the given mode (created with it, so a secret
//!   is never readable by others, even for an instant), fsynced, renamed over
//!   the path, and the directory fsynced ([`write_output`]: the same without
//!   the fsyncs, for output made again from the sources).

use std::fs::{File, OpenOptions};
use std::io::{Error, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

/// Files readable and writable by their owner only (state, journal, lock,
/// saved plans, manifests holding secrets).
pub const OWNER_ONLY: u32 = 0o600;

/// What a file that is not a regular file is, for messages.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

fn not_regular(file_type: std::fs::FileType) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("it is {}, not a regular file", kind_of(file_type)))
}

/// The bytes of the regular file at `path` (symlinks followed), at most
/// `limit` bytes; anything else is an error whose text is a clause ("it is
/// a FIFO (named pipe), not a regular file").
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.file_type().is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let too_large = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("it is larger than {}, the most stackc reads from one file", size_text(limit)),
        )
    };
    if metadata.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The size may change while reading (a file being appended to): bounded anyway.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `16 MiB`, `256 MiB`, or bytes.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Refuses `path` when something other than a regular file is there.
pub fn check_replaceable(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_file() => Ok(()),
        Ok(metadata) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "it is {}, and stackc replaces only regular files; choose another path",
                kind_of(metadata.file_type())
            ),
        )),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Writes `bytes` to `path` atomically with permissions `mode` (unix),
/// replacing only a regular file (see the module docs).
pub fn write_replacing(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomically(path, bytes, mode, true)
}

/// [`write_replacing`] without the fsyncs, for output that is made again
/// from the sources (`build -o`): still atomic for a reader and never
/// through anything but a regular file, but not forced to disk one file at
/// a time (with an fsync per manifest, writing 20,000 took 95 s). A file
/// that already holds exactly `bytes`, with permissions `mode`, is left as
/// it is: rebuilding a large stack rewrites only what changed (creating and
/// renaming 21,000 files was most of the time of `build -o` of 10k
/// services), and unchanged files keep their times.
pub fn write_output(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    if holds(path, bytes, mode) {
        return Ok(());
    }
    write_atomically(path, bytes, mode, false)
}

/// Whether `path` is a regular file (not through a symlink) with
/// permission bits `mode` and content `bytes`.
fn holds(path: &Path, bytes: &[u8], mode: u32) -> bool {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A symlink is replaced, never read through; a FIFO never blocks.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let Ok(mut file) = options.open(path) else { return false };
    let Ok(metadata) = file.metadata() else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o7777 != mode {
            return false;
        }
    }
    #[cfg(not(unix))]
    let _ = mode;
    if !metadata.file_type().is_file() || metadata.len() != bytes.len() as u64 {
        return false;
    }
    let mut old = Vec::with_capacity(bytes.len());
    file.read_to_end(&mut old).is_ok() && old == bytes
}

fn write_atomically(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> std::io::Result<()> {
    check_replaceable(path)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let temp = temp_path(dir, &name)?;
    let written = (|| -> std::io::Result<()> {
        let mut file = create_new(&temp, mode)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// A directory written whole before it appears: [`NewDir::begin`] makes a
/// hidden temp directory beside `dir` (same parent, so same filesystem),
/// [`NewDir::write`] puts files in it with plain writes (no temp file and
/// rename per file: nobody can see the directory yet), and
/// [`NewDir::finish`] renames it into place. Dropped unfinished (an error
/// part way), it removes the temp directory, so no half-written `dir` and
/// no temp directory is left. A first `build -o` of 10,000 services made
/// ~42,000 opens and 21,000 renames through [`write_output`]; this makes
/// one of each per file and one rename in all.
#[derive(Debug)]
pub struct NewDir {
    temp: PathBuf,
    dir: PathBuf,
    /// `dir` exists as an empty directory, replaced by the rename.
    replaces_empty: bool,
    finished: bool,
}

impl NewDir {
    /// A new directory for `dir` when it does not exist, or is an empty
    /// directory (not a symlink) owned by this user, whose permissions the
    /// new one takes. `None` when anything else is there: the caller writes
    /// file by file into what exists. Missing parents are created.
    pub fn begin(dir: &Path) -> std::io::Result<Option<NewDir>> {
        let (replaces_empty, permissions) = match std::fs::symlink_metadata(dir) {
            Err(error) if error.kind() == ErrorKind::NotFound => (false, None),
            Err(error) => return Err(error),
            Ok(metadata) if metadata.file_type().is_dir() && owned_by_me(&metadata) => {
                if std::fs::read_dir(dir)?.next().is_some() {
                    return Ok(None);
                }
                (true, Some(metadata.permissions()))
            }
            Ok(_) => return Ok(None),
        };
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = match dir.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            // `..` or `/`: nothing to rename onto; write in place.
            None => return Ok(None),
        };
        std::fs::create_dir_all(parent)?;
        let temp = temp_path(parent, &name)?;
        std::fs::create_dir(&temp)?;
        let new = NewDir { temp, dir: dir.to_path_buf(), replaces_empty, finished: false };
        if let Some(permissions) = permissions {
            std::fs::set_permissions(&new.temp, permissions)?;
        }
        Ok(Some(new))
    }

    /// Writes `name` (a plain file name) with `bytes` and permissions
    /// `mode` (unix; created with it, so a secret is never readable by
    /// others).
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let mut file = create_new(&self.temp.join(name), mode)?;
        file.write_all(bytes)
    }

    /// Renames the directory into place. If `dir` appeared meanwhile, or
    /// an empty `dir` cannot be replaced (a mount point), the files are
    /// moved into it one by one instead, when it is an empty directory.
    pub fn finish(mut self) -> std::io::Result<()> {
        match std::fs::rename(&self.temp, &self.dir) {
            Ok(()) => {
                self.finished = true;
                Ok(())
            }
            Err(error) => {
                let empty_dir = std::fs::symlink_metadata(&self.dir).is_ok_and(|m| m.file_type().is_dir())
                    && std::fs::read_dir(&self.dir)?.next().is_none();
                if !(self.replaces_empty && empty_dir) {
                    return Err(error);
                }
                for entry in std::fs::read_dir(&self.temp)? {
                    let entry = entry?;
                    std::fs::rename(entry.path(), self.dir.join(entry.file_name()))?;
                }
                Ok(())
            }
        }
    }
}

impl Drop for NewDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

#[cfg(unix)]
fn owned_by_me(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    metadata.uid() == unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn owned_by_me(_: &std::fs::Metadata) -> bool {
    true
}

/// A new file (never an existing one: `O_EXCL`, so a symlink planted at
/// `path` is not followed) created with `mode`.
pub fn create_new(path: &Path, mode: u32) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// `.<name>.<pid>-<random>.tmp` in `dir`.
pub fn temp_path(dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| Error::other(e.to_string()))?;
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(dir.join(format!(".{name}.{}-{suffix}.tmp", std::process::id())))
}

/// Fsyncs a directory so a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all())
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_bounded_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "hello").unwrap();
        assert_eq!(read_regular(&file, 5).unwrap(), b"hello");
        let error = read_regular(&file, 4).unwrap_err();
        assert!(error.to_string().contains("larger than 4 bytes"), "{error}");
        let error = read_regular(dir.path(), 100).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
        #[cfg(unix)]
        {
            let error = read_regular(Path::new("/dev/zero"), 100).unwrap_err();
            assert!(error.to_string().contains("a device"), "{error}");
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            // Would block forever without O_NONBLOCK (no writer).
            let error = read_regular(&fifo, 100).unwrap_err();
            assert!(error.to_string().contains("FIFO"), "{error}");
        }
    }

    #[test]
    fn replaces_only_regular_files_with_the_mode_given() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan");
        write_replacing(&file, b"one", OWNER_ONLY).unwrap();
        write_replacing(&file, b"two", OWNER_ONLY).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            let outside = dir.path().join("outside");
            std::fs::write(&outside, "keep").unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            let error = write_replacing(&link, b"x", OWNER_ONLY).unwrap_err();
            assert!(error.to_string().contains("symbolic link"), "{error}");
            assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
            assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
            let error = write_replacing(Path::new("/dev/null"), b"x", OWNER_ONLY).unwrap_err();
            assert!(error.to_string().contains("a device"), "{error}");
        }
        // No temp file left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")), "{names:?}");
    }
    /// Output already as it should be is left alone (same file, same
    /// times); anything else about it, and it is replaced.
    #[cfg(unix)]
    #[test]
    fn output_already_written_is_left_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("01-a.yaml");
        let inode = |path: &Path| std::fs::symlink_metadata(path).unwrap().ino();
        write_output(&file, b"one", 0o644).unwrap();
        // Whatever the umask took away.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let first = inode(&file);
        write_output(&file, b"one", 0o644).unwrap();
        assert_eq!(inode(&file), first, "the same content and mode: left alone");
        write_output(&file, b"two", 0o644).unwrap();
        assert_ne!(inode(&file), first, "other content: replaced");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        let second = inode(&file);
        write_output(&file, b"two", OWNER_ONLY).unwrap();
        assert_ne!(inode(&file), second, "another mode: replaced");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        // A symlink to a file with the same content is replaced by a file.
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "two").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("02-b.yaml");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(write_output(&link, b"two", OWNER_ONLY).is_err(), "never replaces a symlink");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }

    /// A new directory appears whole or not at all; an empty one is
    /// replaced, keeping its permissions; anything else is not touched.
    #[cfg(unix)]
    #[test]
    fn a_new_directory_appears_whole_or_not_at_all() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let listing = |dir: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        // Into a directory that does not exist (nor does its parent).
        let out = root.path().join("a/out");
        let new = NewDir::begin(&out).unwrap().expect("a new directory");
        new.write("01-a.yaml", b"one", 0o644).unwrap();
        new.write("02-b.yaml", b"two", OWNER_ONLY).unwrap();
        assert!(!out.exists(), "nothing at DIR until finished");
        new.finish().unwrap();
        assert_eq!(listing(&out), ["01-a.yaml", "02-b.yaml"]);
        assert_eq!(std::fs::read(out.join("02-b.yaml")).unwrap(), b"two");
        assert_eq!(std::fs::metadata(out.join("02-b.yaml")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(listing(&root.path().join("a")), ["out"], "no temp directory left");

        // An error part way: no DIR, no temp directory.
        let failed = root.path().join("b");
        let new = NewDir::begin(&failed).unwrap().expect("a new directory");
        new.write("01-a.yaml", b"one", 0o644).unwrap();
        assert!(new.write("01-a.yaml", b"again", 0o644).is_err(), "a name written twice");
        drop(new);
        assert_eq!(listing(root.path()), ["a"]);

        // An empty directory is replaced, with its permissions.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o700)).unwrap();
        let new = NewDir::begin(&empty).unwrap().expect("an empty directory is replaced");
        new.write("01-a.yaml", b"one", 0o644).unwrap();
        new.finish().unwrap();
        assert_eq!(listing(&empty), ["01-a.yaml"]);
        assert_eq!(std::fs::metadata(&empty).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(listing(root.path()), ["a", "empty"]);

        // Not empty, a file, a symlink: left to the file-by-file path.
        assert!(NewDir::begin(&empty).unwrap().is_none());
        assert!(NewDir::begin(&empty.join("01-a.yaml")).unwrap().is_none());
        let link = root.path().join("link");
        std::os::unix::fs::symlink(root.path().join("elsewhere"), &link).unwrap();
        assert!(NewDir::begin(&link).unwrap().is_none());
        assert_eq!(listing(root.path()), ["a", "empty", "link"]);
    }
}
