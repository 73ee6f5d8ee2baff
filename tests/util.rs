//! Test helpers: a scratch directory and a command for the built binary.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under cargo's target tmp dir, removed when dropped.
pub struct Workdir {
    pub dir: PathBuf,
}

impl Workdir {
    pub fn new(name: &str) -> Workdir {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workdir { dir }
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// The prombox binary, run in this directory.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_prombox"));
        c.current_dir(&self.dir).env("NO_COLOR", "1");
        c
    }

    /// Runs prombox with `args` and `stdin`, returning its output.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared conformance data beside the repository, or None (the test is recorded as
/// skipped).
pub fn conformance(sub: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance")
        .join(sub);
    if p.is_dir() {
        Some(p)
    } else {
        skip(&format!(
            "{} not found (conformance data lives in ../shared beside the repo; CI has it)",
            p.display()
        ));
        None
    }
}

/// Whether `bin --version` runs; if not, the test is recorded as skipped, naming the Debian
/// package that brings it (`.ci/run` installs them all).
pub fn installed(bin: &str, package: &str) -> bool {
    let ok = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(&format!(
            "{bin} is not installed (Debian package {package}; .ci/run installs it)"
        ));
    }
    ok
}

static SKIPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records that the calling test skipped (part of) its work, and why. The reason goes to
/// stderr at once, past libtest's output capture, and the skipped tests are counted again
/// in a last line when the test binary exits, so a skip never passes unseen as `ok`.
/// Under `PROMBOX_REQUIRE_PEERS=1` (CI) a skip is a failure instead.
pub fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?").to_string();
    if std::env::var_os("PROMBOX_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        panic!("{test}: PROMBOX_REQUIRE_PEERS=1 and this test would skip: {why}");
    }
    let line = format!("{test}: skipped: {why}");
    // Not eprintln!: libtest captures the print macros, not writes to the stream itself.
    let _ = writeln!(std::io::stderr(), "{line}");
    let mut all = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
    if all.is_empty() {
        // SAFETY: registers a plain extern "C" function with no arguments.
        unsafe { libc::atexit(report_skips) };
    }
    all.push(line);
}

extern "C" fn report_skips() {
    let all = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
    let tests: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|l| l.split(": skipped: ").next().unwrap_or(l))
        .collect();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\nskipped: {} test(s) did not run in full:",
        tests.len()
    );
    for l in all.iter() {
        let _ = writeln!(err, "  {l}");
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small deterministic generator (xorshift*) for the fuzz tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// `len` bytes, two in three from `special`, the rest random.
    pub fn bytes(&mut self, len: usize, special: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                if self.below(3) == 0 {
                    self.next() as u8
                } else {
                    *self.pick(special)
                }
            })
            .collect()
    }

    /// A seed with 1 to 4 mutations: a byte changed, one of `special` inserted, a run
    /// deleted, a run copied elsewhere, the end cut off, or a piece of another seed appended.
    pub fn mutate(&mut self, seeds: &[Vec<u8>], special: &[u8]) -> Vec<u8> {
        let mut d = self.pick(seeds).clone();
        for _ in 0..1 + self.below(4) {
            let n = d.len().max(1);
            match self.below(6) {
                0 if !d.is_empty() => {
                    let i = self.below(n);
                    d[i] = self.next() as u8;
                }
                1 => {
                    let i = self.below(n + 1).min(d.len());
                    d.insert(i, *self.pick(special));
                }
                2 if !d.is_empty() => {
                    let i = self.below(n);
                    let j = (i + self.below(8)).min(d.len());
                    d.drain(i..j);
                }
                3 if !d.is_empty() => {
                    let i = self.below(n);
                    let j = (i + self.below(16)).min(d.len());
                    let piece = d[i..j].to_vec();
                    let k = self.below(d.len() + 1);
                    d.splice(k..k, piece);
                }
                4 => d.truncate(self.below(n + 1)),
                _ => {
                    let other = self.pick(seeds);
                    let k = self.below(other.len() + 1);
                    d.extend_from_slice(&other[..k]);
                }
            }
        }
        d
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: another process may take it, so a peer
/// that fails to start should be retried on a new one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `openssl ARGS` in `dir`; whether it succeeded.
pub fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A test CA, a server certificate for `san` (`DNS:name` or `IP:addr`) and a client
/// certificate, made with openssl in `dir`: ca.crt, srv.crt/srv.key, cli.crt/cli.key.
pub fn test_certs(dir: &Path, san: &str) -> bool {
    std::fs::write(dir.join("srv.ext"), format!("subjectAltName={san}\n")).unwrap();
    std::fs::write(dir.join("cli.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    [
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca",
        "req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost",
        "x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext",
        "req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj /CN=prombox",
        "x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt -days 2 -extfile cli.ext",
    ]
    .iter()
    .all(|a| openssl(dir, &a.split(' ').collect::<Vec<_>>()))
}

/// Debian's Alertmanager on a free port (no cluster) with `config`; None (the test is
/// recorded as skipped) when it is not installed.
pub fn alertmanager(wd: &Workdir, config: &str) -> Option<(Proc, u16)> {
    if !installed("prometheus-alertmanager", "prometheus-alertmanager") {
        return None;
    }
    wd.write("am.yml", config);
    let port = free_port();
    let child = Command::new("prometheus-alertmanager")
        .args([
            format!("--config.file={}", wd.dir.join("am.yml").display()),
            format!("--storage.path={}", wd.dir.join("am").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("http://127.0.0.1:{port}/-/ready"))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "alertmanager did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((p, port))
}
