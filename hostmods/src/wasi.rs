//! `wasi_snapshot_preview1`: the part of WASI an embedded program uses, the same on the
//! simulator and on a board, so its output compares.
//!
//! | functions | what they do |
//! |---|---|
//! | `args_*`, `environ_*` | the session's [`WasiContext`] arguments and environment |
//! | `fd_write` on 1 and 2 | into the store's [`Printed`] (stdout, stderr) |
//! | `fd_read` on 0 | from the context's stdin bytes, then end of file |
//! | `fd_close`, `fd_seek`, `fd_tell`, `fd_fdstat_get`, `fd_prestat_get`, `fd_prestat_dir_name` | what the three standard streams answer; `EBADF` for any other descriptor (there is no file system, so no preopened directory either) |
//! | `clock_time_get`, `clock_res_get` | a deterministic clock: every reading 1 ms after the last, from the context's start |
//! | `random_get` | a seeded generator (SplitMix64): the same bytes on every target |
//! | `sched_yield` | stops the call here if it runs as a task (it resumes after); a plain call goes on |
//! | `proc_exit` | records the exit code and stops the call (a trap saying so) |
//! | every other function | links, and returns `ENOSYS` |
//!
//! A guest pointer outside memory 0 is `EFAULT`, never a host crash.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use tandem_interp::{Caller, Error, FuncType, Linker, Store, Trap, ValType, Value};

use crate::HostModule;
use crate::printed::{Printed, Stream};
use ValType::{I32, I64};

/// The `wasi_snapshot_preview1` module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wasi;

const NAME: &str = "wasi_snapshot_preview1";

/// WASI error numbers this module answers with.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const NOSYS: i32 = 52;
    pub const SPIPE: i32 = 70;
}

/// The world a WASI program sees, kept in the store's host data: set it before the
/// program's instantiation, or the module links a default one (no arguments beyond the
/// program's name, no environment, empty stdin, clock at 0, seed 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasiContext {
    /// `argv`, the program's name first.
    pub args: Vec<String>,
    /// The environment, as `NAME=value` strings.
    pub env: Vec<String>,
    /// What `fd_read` on descriptor 0 returns, then end of file.
    pub stdin: Vec<u8>,
    /// How much of `stdin` was read.
    pub stdin_read: usize,
    /// The deterministic clock's reading, in nanoseconds.
    pub clock_ns: u64,
    /// The random generator's state.
    pub seed: u64,
    /// The code `proc_exit` was called with, until the embedder takes it.
    pub exit: Option<u32>,
}

impl Default for WasiContext {
    fn default() -> Self {
        WasiContext {
            args: alloc::vec![String::from("main")],
            env: Vec::new(),
            stdin: Vec::new(),
            stdin_read: 0,
            clock_ns: 0,
            seed: 0,
            exit: None,
        }
    }
}

/// How far the deterministic clock moves per reading: 1 ms.
const CLOCK_STEP_NS: u64 = 1_000_000;

impl HostModule for Wasi {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["wasi"]
    }

    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
        if store.host_data::<WasiContext>().is_none() {
            store.set_host_data(WasiContext::default())?;
        }
        linker.func_wrap(
            store,
            NAME,
            "args_sizes_get",
            |c: &mut Caller<'_>, argc: i32, size: i32| strings_sizes(c, |w| &w.args, argc, size),
        );
        linker.func_wrap(store, NAME, "args_get", |c: &mut Caller<'_>, argv: i32, buf: i32| {
            strings_get(c, |w| &w.args, argv, buf)
        });
        linker.func_wrap(
            store,
            NAME,
            "environ_sizes_get",
            |c: &mut Caller<'_>, n: i32, size: i32| strings_sizes(c, |w| &w.env, n, size),
        );
        linker.func_wrap(store, NAME, "environ_get", |c: &mut Caller<'_>, env: i32, buf: i32| {
            strings_get(c, |w| &w.env, env, buf)
        });
        linker.func_wrap(store, NAME, "fd_write", fd_write);
        linker.func_wrap(store, NAME, "fd_read", fd_read);
        linker.func_wrap(store, NAME, "fd_close", |fd: i32| {
            if is_stdio(fd) { errno::SUCCESS } else { errno::BADF }
        });
        linker.func_wrap(store, NAME, "fd_seek", |fd: i32, _off: i64, _whence: i32, _new: i32| {
            if is_stdio(fd) { errno::SPIPE } else { errno::BADF }
        });
        linker.func_wrap(store, NAME, "fd_tell", |fd: i32, _at: i32| {
            if is_stdio(fd) { errno::SPIPE } else { errno::BADF }
        });
        linker.func_wrap(store, NAME, "fd_fdstat_get", fd_fdstat_get);
        linker.func_wrap(store, NAME, "fd_prestat_get", |_fd: i32, _buf: i32| errno::BADF);
        linker.func_wrap(store, NAME, "fd_prestat_dir_name", |_fd: i32, _p: i32, _l: i32| {
            errno::BADF
        });
        linker.func_wrap(
            store,
            NAME,
            "clock_time_get",
            |c: &mut Caller<'_>, _id: i32, _precision: i64, at: i32| {
                let (memory, wasi) = c.memory_and_data::<WasiContext>();
                let (Some(memory), Some(wasi)) = (memory, wasi) else { return errno::FAULT };
                wasi.clock_ns = wasi.clock_ns.wrapping_add(CLOCK_STEP_NS);
                write_bytes(memory, at, &wasi.clock_ns.to_le_bytes())
            },
        );
        linker.func_wrap(store, NAME, "clock_res_get", |c: &mut Caller<'_>, _id: i32, at: i32| {
            match c.memory() {
                Some(memory) => write_bytes(memory, at, &CLOCK_STEP_NS.to_le_bytes()),
                None => errno::FAULT,
            }
        });
        linker.func_wrap(store, NAME, "random_get", random_get);
        linker.func_wrap(store, NAME, "sched_yield", |c: &mut Caller<'_>| {
            c.request_yield();
            errno::SUCCESS
        });
        linker.func_wrap(store, NAME, "proc_exit", |c: &mut Caller<'_>, code: i32| {
            if let Some(wasi) = c.data_mut::<WasiContext>() {
                wasi.exit = Some(code as u32);
            }
            Err::<(), _>(Trap::host(format!("proc_exit({})", code as u32)))
        });
        for (name, params) in UNSUPPORTED {
            let ty = FuncType::new(params.iter().copied(), [ValType::I32]);
            let func = store.host_func(ty, |_, _, results| {
                results[0] = Value::I32(errno::NOSYS);
                Ok(())
            });
            linker.define(NAME, name, tandem_interp::Extern::Func(func));
        }
        Ok(())
    }
}

/// The rest of `wasi_snapshot_preview1`, with their parameters: they link, and answer
/// `ENOSYS`.
const UNSUPPORTED: &[(&str, &[ValType])] = &[
    ("fd_advise", &[I32, I64, I64, I32]),
    ("fd_allocate", &[I32, I64, I64]),
    ("fd_datasync", &[I32]),
    ("fd_fdstat_set_flags", &[I32, I32]),
    ("fd_fdstat_set_rights", &[I32, I64, I64]),
    ("fd_filestat_get", &[I32, I32]),
    ("fd_filestat_set_size", &[I32, I64]),
    ("fd_filestat_set_times", &[I32, I64, I64, I32]),
    ("fd_pread", &[I32, I32, I32, I64, I32]),
    ("fd_pwrite", &[I32, I32, I32, I64, I32]),
    ("fd_readdir", &[I32, I32, I32, I64, I32]),
    ("fd_renumber", &[I32, I32]),
    ("fd_sync", &[I32]),
    ("path_create_directory", &[I32, I32, I32]),
    ("path_filestat_get", &[I32, I32, I32, I32, I32]),
    ("path_filestat_set_times", &[I32, I32, I32, I32, I64, I64, I32]),
    ("path_link", &[I32, I32, I32, I32, I32, I32, I32]),
    ("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32]),
    ("path_readlink", &[I32, I32, I32, I32, I32, I32]),
    ("path_remove_directory", &[I32, I32, I32]),
    ("path_rename", &[I32, I32, I32, I32, I32, I32]),
    ("path_symlink", &[I32, I32, I32, I32, I32]),
    ("path_unlink_file", &[I32, I32, I32]),
    ("poll_oneoff", &[I32, I32, I32, I32]),
    ("proc_raise", &[I32]),
    ("sock_accept", &[I32, I32, I32]),
    ("sock_recv", &[I32, I32, I32, I32, I32, I32]),
    ("sock_send", &[I32, I32, I32, I32, I32]),
    ("sock_shutdown", &[I32, I32]),
];

fn is_stdio(fd: i32) -> bool {
    (0..=2).contains(&fd)
}

/// `len` bytes of guest memory at `at`, if they are all inside it.
fn range(memory: &[u8], at: i32, len: usize) -> Option<core::ops::Range<usize>> {
    let start = at as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= memory.len()).then_some(start..end)
}

/// Writes `bytes` at `at`: `SUCCESS`, or `EFAULT` outside memory 0.
fn write_bytes(memory: &mut [u8], at: i32, bytes: &[u8]) -> i32 {
    match range(memory, at, bytes.len()) {
        Some(r) => {
            memory[r].copy_from_slice(bytes);
            errno::SUCCESS
        }
        None => errno::FAULT,
    }
}

fn read_u32(memory: &[u8], at: usize) -> Option<u32> {
    let bytes = memory.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// The `(buf, len)` pairs of an iovec array: `None` when the array is outside memory 0.
fn iovecs(memory: &[u8], iovs: i32, count: i32) -> Option<Vec<(usize, usize)>> {
    let count = count as u32 as usize;
    let base = range(memory, iovs, count.checked_mul(8)?)?.start;
    (0..count)
        .map(|i| {
            let at = base + 8 * i;
            Some((read_u32(memory, at)? as usize, read_u32(memory, at + 4)? as usize))
        })
        .collect()
}

fn fd_write(c: &mut Caller<'_>, fd: i32, iovs: i32, count: i32, written: i32) -> i32 {
    let stream = match fd {
        1 => Stream::Stdout,
        2 => Stream::Stderr,
        _ => return errno::BADF,
    };
    let (Some(memory), mut printed) = c.memory_and_data::<Printed>() else {
        return errno::FAULT;
    };
    let Some(buffers) = iovecs(memory, iovs, count) else { return errno::FAULT };
    let mut total = 0u32;
    for &(buf, len) in &buffers {
        let Some(bytes) = buf.checked_add(len).and_then(|end| memory.get(buf..end)) else {
            return errno::FAULT;
        };
        if let Some(printed) = printed.as_deref_mut() {
            printed.write(stream, bytes);
        }
        total = total.wrapping_add(len as u32);
    }
    write_bytes(memory, written, &total.to_le_bytes())
}

fn fd_read(c: &mut Caller<'_>, fd: i32, iovs: i32, count: i32, read: i32) -> i32 {
    if fd != 0 {
        return errno::BADF;
    }
    let (Some(memory), Some(wasi)) = c.memory_and_data::<WasiContext>() else {
        return errno::FAULT;
    };
    let Some(buffers) = iovecs(memory, iovs, count) else { return errno::FAULT };
    let mut total = 0usize;
    for &(buf, len) in &buffers {
        let left = &wasi.stdin[wasi.stdin_read.min(wasi.stdin.len())..];
        let n = len.min(left.len());
        let Some(target) = buf.checked_add(n).and_then(|end| memory.get_mut(buf..end)) else {
            return errno::FAULT;
        };
        target.copy_from_slice(&left[..n]);
        wasi.stdin_read += n;
        total += n;
    }
    write_bytes(memory, read, &(total as u32).to_le_bytes())
}

/// `fdstat` of a standard stream: a character device that can be read (0) or written (1, 2).
fn fd_fdstat_get(c: &mut Caller<'_>, fd: i32, at: i32) -> i32 {
    const FILETYPE_CHARACTER_DEVICE: u8 = 2;
    const RIGHT_FD_READ: u64 = 1 << 1;
    const RIGHT_FD_WRITE: u64 = 1 << 6;
    if !is_stdio(fd) {
        return errno::BADF;
    }
    let rights = if fd == 0 { RIGHT_FD_READ } else { RIGHT_FD_WRITE };
    let mut fdstat = [0u8; 24];
    fdstat[0] = FILETYPE_CHARACTER_DEVICE;
    fdstat[8..16].copy_from_slice(&rights.to_le_bytes());
    match c.memory() {
        Some(memory) => write_bytes(memory, at, &fdstat),
        None => errno::FAULT,
    }
}

/// Fills `len` bytes at `at` from the context's SplitMix64 stream.
fn random_get(c: &mut Caller<'_>, at: i32, len: i32) -> i32 {
    let (Some(memory), Some(wasi)) = c.memory_and_data::<WasiContext>() else {
        return errno::FAULT;
    };
    let Some(r) = range(memory, at, len as u32 as usize) else { return errno::FAULT };
    for chunk in memory[r].chunks_mut(8) {
        wasi.seed = wasi.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = wasi.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
    errno::SUCCESS
}

/// `*_sizes_get`: how many strings, and the bytes they take with their NULs.
fn strings_sizes(
    c: &mut Caller<'_>,
    strings: fn(&WasiContext) -> &Vec<String>,
    count_at: i32,
    size_at: i32,
) -> i32 {
    let (Some(memory), Some(wasi)) = c.memory_and_data::<WasiContext>() else {
        return errno::FAULT;
    };
    let list = strings(wasi);
    let size: usize = list.iter().map(|s| s.len() + 1).sum();
    let Ok(size) = u32::try_from(size) else { return errno::INVAL };
    match write_bytes(memory, count_at, &(list.len() as u32).to_le_bytes()) {
        errno::SUCCESS => write_bytes(memory, size_at, &size.to_le_bytes()),
        fault => fault,
    }
}

/// `*_get`: a pointer per string at `pointers`, the NUL-terminated strings from `buf`.
fn strings_get(
    c: &mut Caller<'_>,
    strings: fn(&WasiContext) -> &Vec<String>,
    pointers: i32,
    buf: i32,
) -> i32 {
    let (Some(memory), Some(wasi)) = c.memory_and_data::<WasiContext>() else {
        return errno::FAULT;
    };
    let mut at = buf as u32;
    for (i, s) in strings(wasi).iter().enumerate() {
        let pointer = (pointers as u32).wrapping_add(4 * i as u32) as i32;
        if write_bytes(memory, pointer, &at.to_le_bytes()) != errno::SUCCESS
            || write_bytes(memory, at as i32, s.as_bytes()) != errno::SUCCESS
            || write_bytes(memory, at.wrapping_add(s.len() as u32) as i32, &[0]) != errno::SUCCESS
        {
            return errno::FAULT;
        }
        at = at.wrapping_add(s.len() as u32 + 1);
    }
    errno::SUCCESS
}
