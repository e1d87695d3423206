//! The `tandem` test module: what a test program imports to show a value or a string, or to
//! fail with a message, the same way on the simulator and on a board.
//!
//! | import | does |
//! |---|---|
//! | `print_i32 (i32)`, `print_i64 (i64)` | prints the value and a newline |
//! | `print_f32 (f32)`, `print_f64 (f64)` | prints the value (Rust's shortest round-trip form) and a newline |
//! | `print (ptr i32, len i32)` | prints `len` bytes of memory 0 from `ptr` |
//! | `fail (ptr i32, len i32)` | traps with that text as the message |
//! | `yield ()` | asks the call to stop here if it runs as a task (see `tandem/task/start`); a plain call goes on |
//!
//! Output goes to the store's [`Printed`] (stdout). A string outside memory 0 traps.

use alloc::format;
use alloc::string::String;

use tandem_interp::{Caller, Error, Linker, Store, Trap};

use crate::HostModule;
use crate::printed::{Printed, Stream};

/// The `tandem` test module.
#[derive(Debug, Clone, Copy, Default)]
pub struct TandemTest;

const NAME: &str = "tandem";

impl HostModule for TandemTest {
    fn name(&self) -> &'static str {
        NAME
    }

    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
        linker.func_wrap(store, NAME, "print_i32", |c: &mut Caller<'_>, v: i32| {
            print(c, format!("{v}\n").as_bytes())
        });
        linker.func_wrap(store, NAME, "print_i64", |c: &mut Caller<'_>, v: i64| {
            print(c, format!("{v}\n").as_bytes())
        });
        linker.func_wrap(store, NAME, "print_f32", |c: &mut Caller<'_>, v: f32| {
            print(c, format!("{v:?}\n").as_bytes())
        });
        linker.func_wrap(store, NAME, "print_f64", |c: &mut Caller<'_>, v: f64| {
            print(c, format!("{v:?}\n").as_bytes())
        });
        linker.func_wrap(store, NAME, "print", |c: &mut Caller<'_>, ptr: i32, len: i32| {
            let (memory, printed) = c.memory_and_data::<Printed>();
            let bytes = guest_bytes(memory.map(|m| &*m), ptr, len)?;
            if let Some(printed) = printed {
                printed.write(Stream::Stdout, bytes);
            }
            Ok(())
        });
        linker.func_wrap(store, NAME, "fail", |c: &mut Caller<'_>, ptr: i32, len: i32| {
            let bytes = guest_bytes(c.memory().map(|m| &*m), ptr, len)?;
            Err::<(), _>(Trap::host(String::from_utf8_lossy(bytes)))
        });
        linker.func_wrap(store, NAME, "yield", |c: &mut Caller<'_>| c.request_yield());
        Ok(())
    }
}

/// Prints `bytes` to the store's stdout record.
fn print(caller: &mut Caller<'_>, bytes: &[u8]) {
    if let Some(printed) = caller.data_mut::<Printed>() {
        printed.write(Stream::Stdout, bytes);
    }
}

/// `len` bytes of memory 0 at `ptr` (both read as unsigned), or a trap naming the range.
fn guest_bytes(memory: Option<&[u8]>, ptr: i32, len: i32) -> Result<&[u8], Trap> {
    let memory = memory.ok_or_else(|| Trap::host("tandem: the caller has no memory"))?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    start
        .checked_add(len)
        .and_then(|end| memory.get(start..end))
        .ok_or_else(|| Trap::host(format!("tandem: bytes {start}+{len} are outside memory 0")))
}
