//! The messages the Tandem host and firmware exchange (postcard-rpc endpoints).
//!
//! Filled in by the rig issue; the crate exists so the workspace shows the architecture.
#![no_std]
