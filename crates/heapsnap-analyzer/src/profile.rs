//! `.heapprofile` analyses for `heapsnap top` and `heapsnap diff` on profiles: heapsnap-core's
//! `heapprofile` as plain JS objects. Sizes cross as JS numbers (f64).

use std::path::Path;

use heapsnap_core::read::heapprofile::{self, HeapProfile, Site, SiteDiff};
use napi_derive::napi;

fn read(path: &str) -> napi::Result<HeapProfile, String> {
    HeapProfile::read(Path::new(path)).map_err(|err| napi::Error::new(err.code().to_string(), err.to_string()))
}

#[napi(object)]
pub struct NativeProfileSite {
    pub function_name: String,
    pub url: String,
    /// 1-based; absent when V8 did not know.
    pub line: Option<u32>,
    /// 1-based; absent when V8 did not know.
    pub column: Option<u32>,
    pub self_size: f64,
    pub total_size: f64,
    pub samples: f64,
}

#[napi(object)]
pub struct NativeProfileTop {
    /// Bytes of all sampled allocations in the profile.
    pub total_size: f64,
    pub samples: f64,
    /// Sites by self size, then total size.
    pub sites: Vec<NativeProfileSite>,
}

#[napi(object)]
pub struct NativeProfileSiteDiff {
    pub function_name: String,
    pub url: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub self_delta: f64,
    pub total_delta: f64,
    pub self_size: f64,
    pub total_size: f64,
}

#[napi(object)]
pub struct NativeProfileDiff {
    pub total_delta: f64,
    /// Sites that grew, largest self growth first.
    pub sites: Vec<NativeProfileSiteDiff>,
}

fn site(s: Site) -> NativeProfileSite {
    NativeProfileSite {
        function_name: s.function_name,
        url: s.url,
        line: s.line,
        column: s.column,
        self_size: s.self_size as f64,
        total_size: s.total_size as f64,
        samples: s.samples as f64,
    }
}

fn site_diff(d: SiteDiff) -> NativeProfileSiteDiff {
    NativeProfileSiteDiff {
        function_name: d.function_name,
        url: d.url,
        line: d.line,
        column: d.column,
        self_delta: d.self_delta as f64,
        total_delta: d.total_delta as f64,
        self_size: d.self_size as f64,
        total_size: d.total_size as f64,
    }
}

/// Allocation sites of a `.heapprofile` (plain, .gz or .zst), all or the first `top`.
#[napi]
pub fn heap_profile_top(path: String, top: Option<u32>) -> napi::Result<NativeProfileTop, String> {
    let profile = read(&path)?;
    Ok(NativeProfileTop {
        total_size: profile.total_size() as f64,
        samples: profile.samples.len() as f64,
        sites: profile.sites().into_iter().take(top.map_or(usize::MAX, |t| t as usize)).map(site).collect(),
    })
}

/// Sites whose live bytes grew from profile `a` to profile `b`.
#[napi]
pub fn heap_profile_diff(a: String, b: String, top: Option<u32>) -> napi::Result<NativeProfileDiff, String> {
    let (a, b) = (read(&a)?, read(&b)?);
    Ok(NativeProfileDiff {
        total_delta: b.total_size() as f64 - a.total_size() as f64,
        sites: heapprofile::diff_sites(&a, &b).into_iter().take(top.map_or(usize::MAX, |t| t as usize)).map(site_diff).collect(),
    })
}
