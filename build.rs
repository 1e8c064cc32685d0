//! Builds the C++ shim (src/v8/shim.cc) against the headers of the Node.js that will load
//! the addon. V8's C++ API is not ABI-stable across majors, so the headers must match the
//! running node: we look where npm and node tell us before falling back to the system copy.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    napi_build::setup();

    println!("cargo:rerun-if-changed=src/v8/shim.cc");
    for var in ["HEAPSNAP_NODE_INCLUDE", "npm_config_nodedir", "HEAPSNAP_NODE", "HEAPSNAP_NODE_ABI", "npm_node_execpath"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let wanted_abi = env::var("HEAPSNAP_NODE_ABI").ok().and_then(|abi| abi.parse().ok());
    let include = find_node_headers(wanted_abi).unwrap_or_else(|tried| {
        let wanted = wanted_abi.map_or(String::new(), |abi| format!(" for Node ABI {abi}"));
        panic!(
            "heapsnap: cannot find Node.js headers{wanted} (v8-profiler.h, node_version.h). Looked in:\n  {}\n\
             Set HEAPSNAP_NODE_INCLUDE to the folder holding node_version.h, or npm_config_nodedir to a Node install.",
            tried.join("\n  ")
        )
    });
    println!("cargo:rerun-if-changed={}", include.join("node_version.h").display());
    println!("cargo:rustc-env=HEAPSNAP_NODE_INCLUDE={}", include.display());

    let v8_major = header_define(&include.join("v8-version.h"), "V8_MAJOR_VERSION")
        .unwrap_or_else(|| panic!("heapsnap: no V8_MAJOR_VERSION in {}", include.join("v8-version.h").display()));
    println!("cargo:rustc-env=HEAPSNAP_V8_MAJOR={v8_major}");
    cc::Build::new()
        .cpp(true)
        .file("src/v8/shim.cc")
        .include(&include)
        // V8 13 (Node 24) headers require C++20; older ones build as C++17, as Node itself does.
        .std(if v8_major >= 13 { "c++20" } else { "c++17" })
        // Node's own flags: V8 is built without RTTI and exceptions.
        .flag("-fno-rtti")
        .flag("-fno-exceptions")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("heapsnap_shim");
}

/// The number a header `#define`s, e.g. V8_MAJOR_VERSION in v8-version.h.
fn header_define(header: &Path, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(header).ok()?;
    text.lines().find_map(|line| line.strip_prefix("#define ")?.strip_prefix(name)?.trim().parse().ok())
}

/// The first candidate header folder, most specific first, that is complete and (when the
/// target node's ABI is known) belongs to that ABI: a global npm config's `nodedir` (Debian sets
/// one) may point at another Node's headers than the node running the build, and a shim built
/// against them would not load. Err lists what was tried.
fn find_node_headers(wanted_abi: Option<u32>) -> Result<PathBuf, Vec<String>> {
    let mut candidates = Vec::new();
    if let Some(dir) = env::var_os("HEAPSNAP_NODE_INCLUDE") {
        candidates.push(PathBuf::from(dir));
    }
    if let Some(exec) = node_exec_path() {
        if let Some(prefix) = exec.parent().and_then(Path::parent) {
            candidates.push(prefix.join("include/node"));
        }
    }
    if let Some(dir) = env::var_os("npm_config_nodedir") {
        candidates.push(Path::new(&dir).join("include/node"));
    }
    candidates.push(PathBuf::from("/usr/include/node"));

    let mut tried = Vec::new();
    for dir in candidates {
        if !dir.join("v8-profiler.h").is_file() {
            tried.push(format!("{} (no v8-profiler.h)", dir.display()));
            continue;
        }
        let abi = header_define(&dir.join("node_version.h"), "NODE_MODULE_VERSION");
        match (abi, wanted_abi) {
            (None, _) => tried.push(format!("{} (no NODE_MODULE_VERSION in node_version.h)", dir.display())),
            (Some(abi), Some(wanted)) if abi != wanted => tried.push(format!("{} (headers of ABI {abi})", dir.display())),
            _ => return Ok(dir),
        }
    }
    Err(tried)
}

/// The node binary the addon is being built for: the one that runs our build script or npm,
/// else whatever `node` is on PATH.
fn node_exec_path() -> Option<PathBuf> {
    for var in ["HEAPSNAP_NODE", "npm_node_execpath"] {
        if let Some(path) = env::var_os(var) {
            return Some(PathBuf::from(path));
        }
    }
    let out = Command::new("node").args(["-p", "process.execPath"]).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
