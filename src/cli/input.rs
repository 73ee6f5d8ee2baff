//! Opening inputs named on the command line: files, or standard input as `-`.
//!
//! Format detection needs the end of the input (OpenMetrics ends with `# EOF`). A file is
//! seeked; standard input is seeked when it is a file, and otherwise copied to an unlinked
//! temporary file first, so memory stays flat whatever the input size.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::expfmt::{self, Format};

/// An input ready to read: its display name and a seekable file positioned at the start.
pub struct Input {
    pub name: String,
    pub file: File,
}

impl Input {
    /// Opens `path` (`-` is standard input), spooling a non-seekable stdin to a temporary file.
    pub fn open(path: &Path) -> anyhow::Result<Input> {
        if path == Path::new("-") {
            let mut stdin = File::open("/dev/stdin").context("<stdin>: cannot open")?;
            if stdin.seek(SeekFrom::End(0)).is_ok() && stdin.rewind().is_ok() {
                return Ok(Input {
                    name: "<stdin>".into(),
                    file: stdin,
                });
            }
            let mut spool = spool_file().context("cannot create a temporary file")?;
            io::copy(&mut stdin, &mut spool).context("<stdin>: read failed")?;
            spool.rewind()?;
            return Ok(Input {
                name: "<stdin>".into(),
                file: spool,
            });
        }
        let name = path.display().to_string();
        let file = File::open(path).with_context(|| format!("{name}: cannot open"))?;
        Ok(Input { name, file })
    }

    /// Detects the format from the last bytes, leaving the file at the start.
    pub fn detect(&mut self) -> io::Result<Format> {
        let len = self.file.seek(SeekFrom::End(0))?;
        let from = len.saturating_sub(64);
        self.file.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::with_capacity(64);
        (&mut self.file).take(64).read_to_end(&mut tail)?;
        self.file.rewind()?;
        Ok(expfmt::detect(&tail))
    }

    pub fn reader(self) -> BufReader<File> {
        BufReader::with_capacity(256 << 10, self.file)
    }
}

fn spool_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    for n in 0..100u32 {
        let path: PathBuf = dir.join(format!("prombox-stdin-{}-{n}", std::process::id()));
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&path);
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free temporary file name"))
}

/// Standard input read whole, named `<stdin>`; on a terminal, `hint` says what to give
/// instead (nobody is typing a body).
pub fn read_stdin_whole(hint: &str) -> anyhow::Result<(String, Vec<u8>)> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        anyhow::bail!("{hint}");
    }
    let mut b = Vec::new();
    anyhow::Context::context(stdin.lock().read_to_end(&mut b), "<stdin>: read failed")?;
    Ok(("<stdin>".into(), b))
}
