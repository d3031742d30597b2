//! Compiled components, cached in memory and on disk so that starting a host over many installed
//! plugins does not compile them again.
//!
//! Loading a compiled artifact runs native code, so the on-disk cache is guarded: an entry is
//! named by the wasm's SHA-256 and the engine's compatibility hash (engine version and
//! configuration), and carries an HMAC-SHA256 of its bytes under a key only this host knows (or,
//! without one, a plain SHA-256). An entry that fails the check is ignored and recompiled.

use std::collections::HashMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use helpdesk::wasm_hash;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{HostError, Result};

const MAGIC: &[u8; 8] = b"HDPLUG01";
const HEADER: usize = MAGIC.len() + 32;

/// Feeds `Hash` output into SHA-256 (for the engine's compatibility hash).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104), or SHA-256 without a key.
fn tag(key: Option<&[u8; 32]>, data: &[u8]) -> [u8; 32] {
    let Some(key) = key else {
        return Sha256::digest(data).into();
    };
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How many components a host compiled and loaded, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Compiled from wasm.
    pub compiled: u32,
    /// Loaded from the on-disk cache.
    pub loaded: u32,
    /// On-disk entries refused by the integrity check (and recompiled).
    pub rejected: u32,
}

#[derive(Debug)]
pub(crate) struct Cache {
    dir: Option<PathBuf>,
    key: Option<[u8; 32]>,
    engine_tag: String,
    memory: Mutex<HashMap<String, Component>>,
    stats: Mutex<CacheStats>,
}

impl Cache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, key: Option<[u8; 32]>) -> Self {
        let mut h = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut h);
        let digest = h.0.finalize();
        Self {
            dir,
            key,
            engine_tag: hex(&digest[..12]),
            memory: Mutex::new(HashMap::new()),
            stats: Mutex::new(CacheStats::default()),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        *self.stats.lock()
    }

    fn path(&self, dir: &Path, hash: &str) -> PathBuf {
        dir.join(format!("{hash}-{}.cwasm", self.engine_tag))
    }

    /// The component for the wasm with `hash`, from memory, then disk, then compiled from the
    /// bytes `wasm` returns (checked against `hash`).
    pub(crate) fn component(
        &self,
        engine: &Engine,
        hash: &str,
        wasm: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Component> {
        if let Some(c) = self.memory.lock().get(hash) {
            return Ok(c.clone());
        }
        if let Some(dir) = &self.dir
            && let Some(c) = self.load(engine, &self.path(dir, hash))
        {
            self.memory.lock().insert(hash.to_owned(), c.clone());
            return Ok(c);
        }
        let bytes = wasm()?;
        if wasm_hash(&bytes) != hash {
            return Err(HostError::NotAPlugin {
                reason: "the stored wasm does not match its hash".to_owned(),
            });
        }
        let component = self.compile(engine, &bytes)?;
        if let Some(dir) = &self.dir {
            // A cache that cannot be written costs time at the next start, nothing else.
            if let Err(e) = self.store(&component, dir, hash) {
                tracing::warn!(error = %e, "could not write the compiled plugin cache");
            }
        }
        self.memory
            .lock()
            .insert(hash.to_owned(), component.clone());
        Ok(component)
    }

    /// Compiles wasm bytes (not cached).
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> Result<Component> {
        let component = Component::new(engine, bytes).map_err(|e| HostError::NotAPlugin {
            reason: format!("{e:#}"),
        })?;
        self.stats.lock().compiled += 1;
        Ok(component)
    }

    fn store(&self, component: &Component, dir: &Path, hash: &str) -> std::io::Result<()> {
        let artifact = component
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        fs::create_dir_all(dir)?;
        let path = self.path(dir, hash);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&tag(self.key.as_ref(), &artifact))?;
        file.write_all(&artifact)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &path)
    }

    /// Loads a cache entry if it passes the integrity check and suits this engine.
    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let bytes = fs::read(path).ok()?;
        let ok = bytes.len() > HEADER
            && bytes.starts_with(MAGIC)
            && same(
                &bytes[MAGIC.len()..HEADER],
                &tag(self.key.as_ref(), &bytes[HEADER..]),
            );
        if !ok {
            self.stats.lock().rejected += 1;
            tracing::warn!(path = %path.display(), "compiled plugin cache entry failed its integrity check; recompiling");
            return None;
        }
        let component = deserialize(engine, &bytes[HEADER..])?;
        self.stats.lock().loaded += 1;
        Some(component)
    }
}

/// Loads a compiled component.
#[expect(
    unsafe_code,
    reason = "`Component::deserialize` runs native code from its input, which is unsafe for untrusted \
              bytes; the bytes come only from this host's own cache, after the integrity check in \
              `Cache::load` (an HMAC under the host's key), and wasmtime itself refuses artifacts \
              of another engine version or configuration"
)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> Option<Component> {
    // SAFETY: see the reason above: `artifact` was written by `Cache::store` from
    // `Component::serialize` and passed the integrity check just before this call.
    unsafe { Component::deserialize(engine, artifact) }.ok()
}
