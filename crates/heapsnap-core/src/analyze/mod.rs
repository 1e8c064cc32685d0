//! Heap snapshot analyzer: parser, graph, dominators, diff, leaks, retainers.
