//! Building the project's firmware crates (`target-fw`, the benchmark firmware) for a board:
//! the one place that runs cargo for a Cortex-M target, so the targets, the benchmark and the
//! tests build alike.
//!
//! A firmware crate is its own cargo workspace with its own target directory, profile and
//! `.cargo/config.toml`. The build runs in a cleaned environment (the host build's
//! `CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET` and `RUSTFLAGS` must not leak into it), and each
//! variant (board, features) gets a target directory of its own, so switching between them
//! never rebuilds, or clobbers, another. Cargo decides whether anything changed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use tandem_boards::{BoardProfile, CortexM, DEFAULT_BOARD, GENERIC_LAYER};

/// The environment variable that points at the `target-fw` crate of another checkout.
pub const FIRMWARE_DIR_VAR: &str = "TANDEM_FIRMWARE_DIR";

/// The request-handling firmware crate: `$TANDEM_FIRMWARE_DIR`, or this checkout's
/// `target-fw`.
pub fn firmware_dir() -> PathBuf {
    std::env::var_os(FIRMWARE_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-fw"))
}

/// The cargo features of users' host modules this host was built with: `target-fw` is built
/// with the same ones, so a board links the modules the simulator links.
pub const HOST_MODULE_FEATURES: &[&str] = &[
    #[cfg(feature = "example-gpio-timer")]
    "example-gpio-timer",
];

/// Flash the firmware of each reader needs: what `ci/firmware.sh` measures (437, 305 and
/// 195 KiB on the Cortex-M0+ to M33 builds) with room to grow.
const VALIDATING_FLASH_BYTES: u64 = 480 * 1024;
const WASM_FLASH_BYTES: u64 = 336 * 1024;

/// What a firmware reads of the modules the host sends: the cut that decides how much of
/// the core it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModuleReader {
    /// WebAssembly, validated on the board (the `validate` feature).
    #[default]
    ValidatingWasm,
    /// WebAssembly the host validated (the `wasm` feature): the translator still checks
    /// what it relies on; `assert_invalid` and `assert_malformed` are judged on the host.
    Wasm,
    /// Images the host compiled (neither feature): no decoder, no translator, no
    /// wasmparser on the board; every module is validated and translated on the host.
    Images,
}

impl ModuleReader {
    /// The most a firmware for `board` can read: modules validated on the board where its
    /// flash holds the validator, host-validated wasm where it holds the decoder and
    /// translator, images otherwise. On ARMv6-M (Cortex-M0/M0+) wasmparser's validator does
    /// not build (it needs atomic compare-and-swap), so the host validates there.
    pub fn best_for(board: &BoardProfile) -> ModuleReader {
        let flash = board.memory.map_or(u64::MAX, |m| m.flash_bytes);
        let core = board.target.as_deref().and_then(CortexM::of_target);
        let validator_builds = core.is_none_or(CortexM::has_compare_and_swap);
        if flash >= VALIDATING_FLASH_BYTES && validator_builds {
            ModuleReader::ValidatingWasm
        } else if flash >= WASM_FLASH_BYTES {
            ModuleReader::Wasm
        } else {
            ModuleReader::Images
        }
    }

    /// The name `tandem boards` shows.
    pub fn describe(self) -> &'static str {
        match self {
            ModuleReader::ValidatingWasm => "wasm, validated on the board",
            ModuleReader::Wasm => "wasm, validated on the host",
            ModuleReader::Images => "images compiled on the host",
        }
    }

    /// Whether the board checks modules itself (else the host judges `assert_invalid` and
    /// `assert_malformed` modules for it).
    pub fn validates(self) -> bool {
        self == ModuleReader::ValidatingWasm
    }

    /// `target-fw`'s feature for it, if any.
    fn feature(self) -> Option<&'static str> {
        match self {
            ModuleReader::ValidatingWasm => Some("validate"),
            ModuleReader::Wasm => Some("wasm"),
            ModuleReader::Images => None,
        }
    }

    /// The suffix of its firmware variant's target directory.
    fn variant(self) -> &'static str {
        match self {
            ModuleReader::ValidatingWasm => "",
            ModuleReader::Wasm => "-no-validate",
            ModuleReader::Images => "-images",
        }
    }
}

/// Which `target-fw` to build for a board: the board layer comes from its profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareFeatures {
    /// What the firmware reads.
    pub reader: ModuleReader,
    /// The host link over RTT (implied by every board behind a debug probe).
    pub rtt: bool,
}

/// One cargo build of a firmware crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareBuild {
    /// The firmware crate (a workspace of its own).
    pub dir: PathBuf,
    /// The Rust target triple, e.g. `thumbv7em-none-eabihf`.
    pub target: String,
    /// The target directory, relative to `dir`.
    pub target_dir: String,
    /// Cargo features; the crate's default features are off.
    pub features: Vec<String>,
    /// Extra environment for the build script (e.g. `TANDEM_BOARD`).
    pub env: Vec<(String, String)>,
    /// For a chip's generic firmware: where its profile and ELF are kept.
    pub chip: Option<ChipFiles>,
    /// The binary's name.
    pub bin: String,
}

/// A chip's files beside the generic firmware's builds (`<target-fw>/target/chips/`): every
/// chip of a core shares one target directory (the dependencies are built once), so each
/// chip's profile is written there before its build and its ELF copied there after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipFiles {
    /// The profile file the build reads (`TANDEM_BOARD`).
    pub profile: PathBuf,
    /// Its text: the derived profile, or the given profile file's.
    pub text: String,
    /// Where the chip's ELF is kept.
    pub elf: PathBuf,
}

/// Why a firmware could not be built.
#[derive(Debug)]
pub enum FirmwareError {
    /// The board has no firmware board layer (its profile names no `firmware`).
    NoBoardLayer {
        /// The board.
        board: String,
    },
    /// A chip's profile could not be written for the build, or its ELF kept after it.
    Chip {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Cargo could not be started.
    Cargo {
        /// The firmware crate.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The build failed.
    Failed {
        /// The firmware crate.
        dir: PathBuf,
        /// Cargo's exit status.
        status: ExitStatus,
        /// What cargo said.
        stderr: String,
    },
}

impl fmt::Display for FirmwareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FirmwareError::NoBoardLayer { board } => {
                write!(f, "board `{board}` has no firmware board layer (its profile names none)")
            }
            FirmwareError::Chip { path, source } => {
                write!(f, "cannot write the chip's {}: {source}", path.display())
            }
            FirmwareError::Cargo { dir, source } => {
                write!(f, "cannot run cargo in {}: {source}", dir.display())
            }
            FirmwareError::Failed { dir, status, stderr } => write!(
                f,
                "`cargo build --release` in {} failed ({status}):\n{stderr}",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for FirmwareError {}

impl FirmwareBuild {
    /// `target-fw` (in `dir`) for `board` with `features`, in a target directory of its own
    /// unless it is the CI board's default build.
    pub fn target_fw(
        dir: PathBuf,
        board: &BoardProfile,
        features: FirmwareFeatures,
    ) -> Result<FirmwareBuild, FirmwareError> {
        let Some(layer) = board.firmware.as_deref() else {
            return Err(FirmwareError::NoBoardLayer { board: board.name.to_string() });
        };
        let default = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
        let host_modules = HOST_MODULE_FEATURES.iter().map(|f| format!("-{f}"));
        let target = board.target.as_deref().unwrap_or("thumbv7em-none-eabihf").to_owned();
        let generic = layer == GENERIC_LAYER;
        let target_dir = if board.name == DEFAULT_BOARD
            && features == default
            && HOST_MODULE_FEATURES.is_empty()
        {
            "target".to_owned()
        } else {
            format!(
                "target/variants/{}{}{}{}",
                // Chips share a directory per core (see ChipFiles).
                if generic { format!("{GENERIC_LAYER}-{target}") } else { board.name.to_string() },
                features.reader.variant(),
                if features.rtt { "-rtt" } else { "" },
                host_modules.collect::<String>(),
            )
        };
        let mut feature_list = vec![layer.to_owned()];
        feature_list.extend(features.reader.feature().map(str::to_owned));
        feature_list.extend(features.rtt.then(|| "rtt".to_owned()));
        feature_list.extend(HOST_MODULE_FEATURES.iter().map(|f| (*f).to_owned()));
        let chip = generic.then(|| {
            let chips = dir.join("target/chips");
            ChipFiles {
                profile: chips.join(format!("{}.toml", board.name)),
                text: board.to_toml(),
                elf: chips.join(format!("{}.elf", board.name)),
            }
        });
        let profile = match (&chip, &board.origin) {
            (Some(chip), _) => chip.profile.display().to_string(),
            (None, Some(origin)) => origin.to_string(),
            (None, None) => board.name.to_string(),
        };
        Ok(FirmwareBuild {
            dir,
            target,
            target_dir,
            features: feature_list,
            env: vec![("TANDEM_BOARD".to_owned(), profile)],
            chip,
            bin: "tandem-fw".to_owned(),
        })
    }

    /// Where the ELF will be.
    pub fn elf(&self) -> PathBuf {
        match &self.chip {
            Some(chip) => chip.elf.clone(),
            None => self.built(),
        }
    }

    /// Where cargo puts the ELF.
    fn built(&self) -> PathBuf {
        self.dir.join(&self.target_dir).join(&self.target).join("release").join(&self.bin)
    }

    /// Builds (release: the crate's profile, opt-level "s" and LTO) and returns the ELF.
    pub fn build(&self) -> Result<PathBuf, FirmwareError> {
        if let Some(chip) = &self.chip {
            let path = &chip.profile;
            let written = path.parent().map_or(Ok(()), std::fs::create_dir_all);
            written
                .and_then(|()| std::fs::write(path, &chip.text))
                .map_err(|source| FirmwareError::Chip { path: path.clone(), source })?;
        }
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "--quiet", "--target", &self.target])
            .args(["--target-dir", &self.target_dir, "--no-default-features", "--features"])
            .arg(self.features.join(","))
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // The host build's settings must not leak into the firmware build.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .map_err(|source| FirmwareError::Cargo { dir: self.dir.clone(), source })?;
        if !output.status.success() {
            return Err(FirmwareError::Failed {
                dir: self.dir.clone(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        if let Some(chip) = &self.chip {
            std::fs::copy(self.built(), &chip.elf)
                .map_err(|source| FirmwareError::Chip { path: chip.elf.clone(), source })?;
        }
        Ok(self.elf())
    }
}

#[cfg(test)]
mod tests {
    use tandem_boards::{Chip, MemoryRange};

    use super::*;

    #[test]
    fn each_variant_has_its_own_target_dir_and_features() {
        let ci = BoardProfile::find(DEFAULT_BOARD).expect("built-in");
        let dir = PathBuf::from("/fw");
        let default = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
        let build = FirmwareBuild::target_fw(dir.clone(), &ci, default).expect("has a layer");
        assert_eq!(build.target_dir, "target");
        assert_eq!(build.features, ["mps2-an386", "validate"]);
        assert_eq!(build.elf(), Path::new("/fw/target/thumbv7em-none-eabihf/release/tandem-fw"));
        let rtt = FirmwareFeatures { reader: ModuleReader::Wasm, rtt: true };
        let build = FirmwareBuild::target_fw(dir.clone(), &ci, rtt).expect("has a layer");
        assert_eq!(build.target_dir, "target/variants/qemu-mps2-an386-no-validate-rtt");
        assert_eq!(build.features, ["mps2-an386", "wasm", "rtt"]);
        assert_eq!(build.env, [("TANDEM_BOARD".to_owned(), DEFAULT_BOARD.to_owned())]);
        let images = FirmwareFeatures { reader: ModuleReader::Images, rtt: false };
        let build = FirmwareBuild::target_fw(dir.clone(), &ci, images).expect("has a layer");
        assert_eq!(build.target_dir, "target/variants/qemu-mps2-an386-images");
        assert_eq!(build.features, ["mps2-an386"], "neither wasm nor validate");

        let desktop = BoardProfile::desktop(ci.limits);
        let err = FirmwareBuild::target_fw(dir.clone(), &desktop, default).expect_err("no layer");
        assert!(err.to_string().contains("`desktop` has no firmware board layer"), "{err}");
    }

    fn chip(core: CortexM, flash_kib: u64) -> BoardProfile {
        BoardProfile::for_chip(&Chip {
            name: "ATSAMD21G18A".into(),
            core,
            flash: MemoryRange { origin: 0, bytes: flash_kib * 1024 },
            ram: MemoryRange { origin: 0x2000_0000, bytes: 32 * 1024 },
        })
        .expect("a derivable chip")
    }

    #[test]
    fn the_reader_is_the_most_the_flash_and_core_allow() {
        for board in BoardProfile::builtin() {
            let armv6m = board.target.as_deref() == Some("thumbv6m-none-eabi");
            let expected = if armv6m { ModuleReader::Wasm } else { ModuleReader::ValidatingWasm };
            assert_eq!(ModuleReader::best_for(&board), expected, "{}", board.name);
        }
        let best = |core, flash_kib| ModuleReader::best_for(&chip(core, flash_kib));
        assert_eq!(best(CortexM::V7EM, 512), ModuleReader::ValidatingWasm);
        assert_eq!(best(CortexM::V6M, 512), ModuleReader::Wasm, "no validator on ARMv6-M");
        assert_eq!(best(CortexM::V7EM, 384), ModuleReader::Wasm);
        assert_eq!(best(CortexM::V7EM, 256), ModuleReader::Images);
        assert!(!ModuleReader::Wasm.validates() && ModuleReader::ValidatingWasm.validates());
    }

    #[test]
    fn a_chips_derived_profile_is_written_for_its_build() {
        let board = chip(CortexM::V6M, 256);
        let features = FirmwareFeatures { reader: ModuleReader::Images, rtt: true };
        let build =
            FirmwareBuild::target_fw(PathBuf::from("/fw"), &board, features).expect("generic");
        assert_eq!(build.target, "thumbv6m-none-eabi");
        assert_eq!(build.features, ["generic", "rtt"]);
        // Every chip of a core shares the dependencies' build; its own files are kept apart.
        assert_eq!(build.target_dir, "target/variants/generic-thumbv6m-none-eabi-images-rtt");
        let chip = build.chip.clone().expect("a chip's files");
        assert_eq!(chip.profile, Path::new("/fw/target/chips/atsamd21g18a.toml"));
        assert_eq!(
            (build.elf(), chip.elf),
            (PathBuf::from("/fw/target/chips/atsamd21g18a.elf"), build.elf())
        );
        assert_eq!(build.env, [("TANDEM_BOARD".to_owned(), chip.profile.display().to_string())]);
        assert_eq!(BoardProfile::from_toml(&chip.text, "t.toml").expect("reads back"), board);
        let (text, path) = (chip.text, chip.profile);

        // Written where the build can write; a path it cannot write is named.
        let dir = std::env::temp_dir().join(format!("tandem-chip-{}", std::process::id()));
        let mut build = FirmwareBuild::target_fw(dir.clone(), &board, features).expect("generic");
        build.dir = PathBuf::from("/nonexistent-dir-for-cargo");
        let err = build.build().expect_err("no cargo dir").to_string();
        let written = std::fs::read_to_string(dir.join("target/chips/atsamd21g18a.toml"));
        assert_eq!(written.ok().as_deref(), Some(text.as_str()), "{err}");
        std::fs::remove_dir_all(&dir).ok();
        let unwritable = PathBuf::from("/proc/no/such.toml");
        build.chip = Some(ChipFiles { profile: unwritable, text, elf: path });
        let err = build.build().expect_err("unwritable").to_string();
        assert!(err.contains("cannot write the chip's /proc/no/such.toml"), "{err}");
    }

    #[test]
    fn only_boards_with_a_layer_build() {
        let ci = BoardProfile::find(DEFAULT_BOARD).expect("built-in");
        let default = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
        let dir = PathBuf::from("/fw");
        let desktop = BoardProfile::desktop(ci.limits);
        let err = FirmwareBuild::target_fw(dir, &desktop, default).expect_err("no layer");
        assert!(err.to_string().contains("`desktop` has no firmware board layer"), "{err}");
    }
}
