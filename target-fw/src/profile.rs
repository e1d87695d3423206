//! The board profile this firmware was built for (`boards/profiles/*.toml`, chosen by
//! `$TANDEM_BOARD` at build time): sizes of the heap arena and static buffer, and the limits
//! the request handler applies, the same ones the host's simulator applies for that board.

include!(concat!(env!("OUT_DIR"), "/profile.rs"));

use tandem_handler::BoardProfile;

/// The handler's limits for this board.
pub fn board_profile() -> BoardProfile {
    BoardProfile {
        name: BOARD_NAME.into(),
        value_stack_slots: VALUE_STACK_SLOTS,
        max_call_depth: MAX_CALL_DEPTH,
        fuel: FUEL,
        max_module_bytes: MAX_MODULE_BYTES,
        heap_memory_bytes: Some(HEAP_MEMORY_BYTES),
    }
}
