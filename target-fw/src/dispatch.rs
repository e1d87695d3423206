//! The request table, instantiated for this board: `tandem-server`'s endpoint -> handler
//! table (the very code the host's linked simulator serves) over the board's link (UART or RTT), with
//! [`Board`] supplying what only hardware measures: heap, stack, clock and link figures, the
//! call deadline, and the deliberate faults.

use tandem_protocol::{FaultKind, TargetStats};
use tandem_server::Platform;

use crate::board::{self, HostUart};
use crate::{LINK, clock, deadline, heap, stack};

/// The link as the firmware instantiates it.
pub type Wire = tandem_server::Wire<HostUart>;

tandem_server::server!(app: FwApp; uart: HostUart; platform: Board;);

/// The handler's output sink: a running call's output chunks go straight out on the link,
/// the UART's backpressure pausing the program while they drain.
pub fn send_output(index: u32, stream: tandem_handler::Stream, bytes: &[u8]) {
    tandem_server::publish_output(LINK.wire(), index, stream, bytes);
}

/// This board's glue for the shared server.
pub struct Board;

impl Platform for Board {
    fn ticks(&self) -> u64 {
        clock::ticks()
    }

    fn tick_hz(&self) -> u32 {
        board::CORE_CLOCK_HZ
    }

    fn measure(&self, t: &mut TargetStats) {
        let link = LINK.wire().counts();
        t.heap_in_use = Some(heap::in_use() as u64);
        t.heap_peak = Some(heap::peak() as u64);
        t.heap_size = Some(heap::size() as u64);
        t.native_stack_high_water = Some(stack::high_water() as u64);
        t.native_stack_size = Some(stack::size() as u64);
        t.frames_ok = Some(link.frames_ok);
        t.frames_dropped = Some(link.frames_dropped);
        t.frames_replayed = Some(link.replies_replayed);
    }

    fn restart_measurements(&mut self) {
        heap::reset_peak();
        stack::repaint();
    }

    fn arm_deadline(&mut self, ticks: u64) {
        deadline::arm(ticks);
    }

    fn disarm_deadline(&mut self) {
        deadline::disarm();
    }

    fn fault(&mut self, kind: FaultKind) {
        match kind {
            FaultKind::Panic => panic!("deliberate panic requested by the host"),
            FaultKind::HardFault => cortex_m::asm::udf(),
        }
    }
}
