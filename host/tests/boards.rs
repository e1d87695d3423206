//! `tandem boards`: the built-in list, and `--chip`'s profile as a file: a built-in board's
//! for a chip one has, one derived from probe-rs's chip database for any other, refused with
//! the reason for a chip the generic firmware cannot serve.

use std::process::{Command, Output};

use tandem_boards::{BoardProfile, GENERIC_LAYER};

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().expect("tandem runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn the_list_has_every_built_in_board() {
    let list = stdout(&tandem(&["boards"]));
    for board in BoardProfile::builtin() {
        assert!(list.contains(&*board.name), "{} in:\n{list}", board.name);
    }
}

#[test]
fn a_chip_without_a_board_gets_a_derived_profile_file() {
    let text = stdout(&tandem(&["boards", "--chip", "STM32F411CEUx"]));
    assert!(text.contains("# reads: wasm, validated on the board"), "{text}");
    let board = BoardProfile::from_toml(&text, "stdout").expect("a profile file");
    assert_eq!(board.firmware.as_deref(), Some(GENERIC_LAYER));
    assert_eq!(board.target.as_deref(), Some("thumbv7em-none-eabi"));
    assert_eq!(board.memory.map(|m| (m.ram_bytes, m.flash_bytes)), Some((128 << 10, 512 << 10)));
    let origins = board.generic.map(|g| (g.flash_origin, g.ram_origin));
    assert_eq!(origins, Some((0x0800_0000, 0x2000_0000)));

    // An ARMv6-M chip with 256 KiB of flash: images, SysTick.
    let text = stdout(&tandem(&["boards", "--chip", "ATSAMD21G18A"]));
    assert!(text.contains("# reads: images compiled on the host"), "{text}");
    assert!(text.contains("no cycle counter"), "{text}");
}

#[test]
fn a_chip_a_board_has_gets_that_boards_profile() {
    let text = stdout(&tandem(&["boards", "--chip", "nRF52840_xxAA"]));
    let board = BoardProfile::from_toml(&text, "stdout").expect("a profile file");
    assert_eq!(board, BoardProfile::find("nrf52840-dk").expect("built-in"), "{text}");
}

#[test]
fn chips_the_firmware_cannot_serve_are_refused_with_the_reason() {
    for (chip, reason) in [
        ("RP2040", "second-stage loader (boot2)"),
        ("GD32VF103CBT6", "not a Cortex-M"),
        ("nRF9999", "unknown chip `nRF9999`"),
    ] {
        let output = tandem(&["boards", "--chip", chip]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{chip}");
        assert!(stderr.contains(reason), "{chip}: {stderr}");
    }
}
