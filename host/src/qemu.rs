//! Launching QEMU as the stand-in board (the `qemu` targets, the benchmark firmware and the
//! tests use it): `qemu-system-arm` for a firmware ELF, with the
//! board's UART0 on a fresh local TCP port that the host connects to as the client, or, for
//! firmware whose link is RTT, QEMU's gdbstub on that port (the VM starts halted, and the
//! host's debugger-side RTT reads and writes the firmware's rings through it).
//!
//! Measured pitfalls this module exists to avoid (see the project's embedded notes):
//! without `nodelay=on` every reply costs ~40 ms; a stale QEMU left on a port makes a new
//! one fail while the host silently talks to the old firmware, so every launch takes a
//! fresh port, checks that *its* QEMU is still alive while connecting, and kills that QEMU
//! by pid on drop. `-icount shift=0,align=off,sleep=off` makes SysTick an instruction
//! counter (1 ns per instruction) and runs as fast as the host allows.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// The apt command that installs QEMU's Arm system emulator on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install -y --no-install-recommends qemu-system-arm";

/// How to start QEMU.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The firmware to boot (`-kernel`).
    pub elf: PathBuf,
    /// The emulator binary; `$TANDEM_QEMU` or `qemu-system-arm` by default.
    pub binary: PathBuf,
    /// The QEMU machine; `mps2-an386` (Cortex-M4F, CMSDK UART0) by default.
    pub machine: String,
    /// How long [`Qemu::connect`] keeps retrying.
    pub connect_timeout: Duration,
    /// Extra arguments appended to the command line (e.g. `-device loader,...`).
    pub extra_args: Vec<String>,
    /// What the host's port connects to.
    pub port: QemuPort,
}

impl LaunchOptions {
    /// The command line every launch shares: the board, semihosting (the guest's exit code
    /// and output), `-icount shift=0` (SysTick counts guest instructions), the ELF and the
    /// extra arguments. The caller adds where UART0 goes. The benchmark firmware runs with
    /// exactly this command, so its instruction counts mean what the target's do.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-M", &self.machine, "-display", "none", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-icount", "shift=0,align=off,sleep=off"])
            .arg("-kernel")
            .arg(&self.elf)
            .args(&self.extra_args);
        cmd
    }
}

/// What QEMU serves on the host's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuPort {
    /// UART0 (`-serial tcp:...,wait=on`): the VM runs once the host connects.
    Uart,
    /// The gdbstub (`-gdb tcp:...`, `-S`): the VM starts halted, and runs when the host's
    /// debugger says continue. UART0 goes nowhere.
    Gdb,
}

impl LaunchOptions {
    /// Defaults for the CI board, booting `elf`.
    pub fn new(elf: impl Into<PathBuf>) -> Self {
        Self {
            elf: elf.into(),
            binary: std::env::var_os("TANDEM_QEMU")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("qemu-system-arm")),
            machine: "mps2-an386".into(),
            connect_timeout: Duration::from_secs(10),
            extra_args: Vec::new(),
            port: QemuPort::Uart,
        }
    }
}

/// Why QEMU could not be started, reached or stopped.
#[derive(Debug)]
pub enum QemuError {
    /// The emulator binary is not installed (or not on `PATH`).
    NotInstalled {
        /// The binary that was looked for.
        binary: PathBuf,
    },
    /// The firmware ELF does not exist.
    NoFirmware {
        /// The missing path.
        elf: PathBuf,
    },
    /// Spawning or talking to the process failed.
    Io(std::io::Error),
    /// QEMU exited before the host could connect (bad ELF, port taken, bad arguments).
    ExitedEarly {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed.
        output: String,
    },
    /// QEMU kept running but never accepted the connection.
    ConnectTimeout {
        /// The port it was given.
        port: u16,
        /// How long the host tried.
        waited: Duration,
        /// What it printed.
        output: String,
    },
    /// QEMU did not exit within the time given to [`Qemu::wait_exit`].
    ExitTimeout {
        /// How long the host waited.
        waited: Duration,
    },
}

impl std::fmt::Display for QemuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotInstalled { binary } => write!(
                f,
                "`{}` not found: QEMU's Arm system emulator is not installed; install it with `{INSTALL_HINT}`",
                binary.display()
            ),
            Self::NoFirmware { elf } => write!(f, "firmware ELF {} does not exist", elf.display()),
            Self::Io(e) => write!(f, "qemu: {e}"),
            Self::ExitedEarly { status, output } => {
                write!(f, "qemu exited ({status}) before the link connected; its output:\n{output}")
            }
            Self::ConnectTimeout { port, waited, output } => write!(
                f,
                "qemu did not accept a connection on 127.0.0.1:{port} within {waited:?}; its output:\n{output}"
            ),
            Self::ExitTimeout { waited } => write!(f, "qemu did not exit within {waited:?}"),
        }
    }
}

impl std::error::Error for QemuError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for QemuError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// A free local TCP port: bind port 0, read what the OS chose, release it for QEMU.
/// (Another process could take it in between; [`Qemu::launch`] retries on that.)
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A running QEMU that this process started; killed (by its pid) when dropped.
pub struct Qemu {
    child: Child,
    port: u16,
    /// QEMU's stdout and stderr (semihosting output of the guest included), as they arrive.
    output: Arc<Mutex<Vec<u8>>>,
    /// How many of the two pipes have reached their end (QEMU exited and all it wrote is in
    /// `output`).
    drained: Arc<AtomicUsize>,
    exit: Option<ExitStatus>,
}

/// How long [`Qemu::wait_exit`] waits, after QEMU exits, for its last output to be copied.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Makes the child die with the thread that starts it (Linux: `PR_SET_PDEATHSIG`), so a host
/// stopped by Ctrl-C or killed outright leaves no QEMU spinning behind it; `Drop` only covers
/// an orderly end. QEMU is started from the thread that drives the target for its whole run.
#[cfg(target_os = "linux")]
fn die_with_this_thread(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed: `prctl` is a plain system call, and the closure touches no memory
    // but its own stack.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_this_thread(_cmd: &mut Command) {}

impl Qemu {
    /// Starts QEMU for `opts.elf` with UART0 (or the gdbstub) on a fresh port. The VM waits
    /// for the host to connect before it runs (`wait=on`, or `-S` for the gdbstub), so no
    /// firmware output is lost.
    pub fn spawn(opts: &LaunchOptions) -> Result<Self, QemuError> {
        if !opts.elf.is_file() {
            return Err(QemuError::NoFirmware { elf: opts.elf.clone() });
        }
        let port = free_port()?;
        let mut cmd = opts.command();
        match opts.port {
            QemuPort::Uart => {
                cmd.arg("-serial").arg(format!("tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"))
            }
            QemuPort::Gdb => {
                cmd.args(["-serial", "null", "-S", "-gdb"]).arg(format!("tcp:127.0.0.1:{port}"))
            }
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        die_with_this_thread(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => QemuError::NotInstalled { binary: opts.binary.clone() },
            _ => QemuError::Io(e),
        })?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let drained = Arc::new(AtomicUsize::new(0));
        // Drain both pipes so a chatty guest never blocks on a full pipe.
        if let Some(out) = child.stdout.take() {
            drain(out, output.clone(), drained.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain(err, output.clone(), drained.clone());
        }
        Ok(Self { child, port, output, drained, exit: None })
    }

    /// [`Self::spawn`] then [`Self::connect`], retrying with a new port (up to 3 launches) if
    /// QEMU exits early because another process took the port first.
    pub async fn launch(opts: &LaunchOptions) -> Result<(Self, TcpStream), QemuError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut qemu = Self::spawn(opts)?;
            match qemu.connect(opts.connect_timeout).await {
                Ok(stream) => return Ok((qemu, stream)),
                Err(QemuError::ExitedEarly { output, .. })
                    if attempt < 3 && output.contains("Address already in use") => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The TCP port of the board's UART (or gdbstub).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything QEMU and the guest (semihosting) printed so far.
    pub fn output(&self) -> String {
        let bytes = self.output.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Connects to the UART port, retrying until `timeout`, and fails fast if this QEMU
    /// exited meanwhile (so a stale QEMU on the same port is never mistaken for ours). The
    /// stream has `TCP_NODELAY`: without it every small reply waits ~40 ms for Nagle.
    pub async fn connect(&mut self, timeout: Duration) -> Result<TcpStream, QemuError> {
        let start = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.try_wait()? {
                return Err(QemuError::ExitedEarly { status, output: self.output() });
            }
            if let Ok(stream) = TcpStream::connect(addr).await {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            if start.elapsed() >= timeout {
                return Err(QemuError::ConnectTimeout {
                    port: self.port,
                    waited: start.elapsed(),
                    output: self.output(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The exit status if QEMU has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, QemuError> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait()?;
        }
        Ok(self.exit)
    }

    /// Waits up to `timeout` for QEMU to exit by itself (the firmware's semihosting exit),
    /// then briefly for its pipes to drain, so [`Self::output`] holds its last words (a
    /// busy machine can leave them in the pipe after the process is gone).
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, QemuError> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait()? {
                let exited = Instant::now();
                while self.drained.load(Ordering::Acquire) < 2 && exited.elapsed() < DRAIN_TIMEOUT {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                return Ok(status);
            }
            if start.elapsed() >= timeout {
                return Err(QemuError::ExitTimeout { waited: start.elapsed() });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Kills QEMU (by the pid of the child this value owns) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, QemuError> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        self.child.kill()?;
        let status = self.child.wait()?;
        self.exit = Some(status);
        Ok(status)
    }
}

impl Drop for Qemu {
    /// Never leaves a QEMU behind: a leftover one would hold its port and its CPU.
    fn drop(&mut self) {
        let pid = self.child.id();
        let was_running = matches!(self.try_wait(), Ok(None));
        match self.kill() {
            Ok(status) if was_running => eprintln!("qemu (pid {pid}) killed: {status}"),
            Ok(status) => eprintln!("qemu (pid {pid}) exited: {status}"),
            Err(e) => eprintln!("qemu (pid {pid}): could not be stopped: {e}"),
        }
    }
}

/// Copies a pipe into the shared output buffer on a background thread; counts `done` up
/// at the pipe's end.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>, done: Arc<AtomicUsize>) {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut out) = sink.lock() {
                        out.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
        done.fetch_add(1, Ordering::Release);
    });
}
