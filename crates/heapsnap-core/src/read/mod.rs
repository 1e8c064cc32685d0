//! Reading heap snapshots back and explaining them: parser, packed graph, dominators, classes,
//! diff, leaks, growth by holder, retainers, allocation traces; `.heapprofile`s (`heapprofile`); and the
//! synthetic snapshots scale tests generate (`synth`).
//!
//! ```no_run
//! use heapsnap_core::read::{read_snapshot, diff};
//! let a = read_snapshot("a.heapsnapshot".as_ref())?;
//! let b = read_snapshot("b.heapsnapshot.gz".as_ref())?;
//! println!("{:?}", b.summary().constructors.first());
//! println!("{:?}", diff(&a, &b).constructors.first());
//! # Ok::<(), heapsnap_core::read::AnalyzeError>(())
//! ```
//!
//! Numbers follow Chrome DevTools' heap snapshot model (see `dominators` and `classes` for
//! the rules), so they can be checked against DevTools on the same file.

mod browse;
mod classes;
mod column;
mod details;
mod diff;
mod distances;
mod dominators;
mod edges;
mod error;
mod graph;
mod holders;
pub mod heapprofile;
mod leaks;
pub(crate) mod parser;
mod packed;
mod parallel;
mod paths;
mod retainer_index;
mod retainers;
mod snapshot;
mod summary;
pub mod synth;
mod traces;

#[cfg(test)]
pub(crate) mod tests;

pub use browse::{objects_not_in, ClassRow, EdgeRow, NodeRow, Page, PageRequest, SortBy};
pub use classes::{ClassKey, InterfaceDefinition};
pub use details::{Binding, Elements, Entries, Entry, Listeners, ObjectDetails, SourceLocation, StringValue};
pub use diff::{diff, ClassDiff, Diff};
pub use distances::{Distances, BASE_SYSTEM_DISTANCE, BASE_UNREACHABLE_DISTANCE, NO_DISTANCE};
pub use error::{AnalyzeError, CORRUPT_SNAPSHOT};
pub use graph::{Graph, Location, StringTable};
pub use snapshot::HeapGraph;
pub use holders::{holders, GrowingHolder};
pub use leaks::{leaks, HeldObjects, LeakGroup};
pub use parser::{read_snapshot, read_snapshot_from, read_snapshot_with_progress, read_string_at};
pub use retainers::{DominatorEntry, Retainer, RetainerGroup};
pub use summary::{ClassSummary, Summary};
pub use traces::{AllocationStack, StackFrame};
