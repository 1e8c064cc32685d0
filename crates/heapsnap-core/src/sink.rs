//! Snapshot sink.
