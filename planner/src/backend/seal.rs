//! Encryption at rest: the envelope that seals the state, its backup, the
//! apply journal's lines and saved plans.
//!
//! An envelope is one line of JSON:
//!
//! ```text
//! {"stackc_sealed":1,"key":{"passphrase":{"salt":"…","m":19456,"t":2,"p":1}},"nonce":"…","data":"…"}
//! {"stackc_sealed":1,"key":{"kms":{"key_id":"…","data_key":"…"}},"nonce":"…","data":"…"}
//! ```
//!
//! `data` is AES-256-GCM (ring, already compiled for rustls) of the
//! plaintext, with a random 96-bit nonce per envelope and, as additional
//! data, the envelope's purpose (`state`, `journal/3`, `plan`): a sealed
//! journal line cannot pass for the state or for another line. The key is
//! either derived from a passphrase with argon2id (memory-hard; the salt and
//! the cost are in the envelope, so they can change without breaking old
//! files) or an AWS KMS data key, whose encrypted copy is in the envelope
//! and which only KMS can decrypt ([`DataKeys`], implemented by the AWS
//! provider crate: the planner has no AWS code).
//!
//! One write key per process: a passphrase is derived once (one salt per
//! process), a KMS data key generated once; both are cached, as are the
//! keys that opened what was read, so an apply's journal costs one
//! AES-GCM per line, not one KDF or KMS call.
//!
//! Rotation: a [`Keyring`] seals with its current key and opens with the
//! current one or any previous one (`STACKC_STATE_PASSPHRASE_PREVIOUS`); a
//! KMS envelope is opened by KMS whichever key is current. The next write
//! seals with the current key.
//!
//! Not protected (README, "Encryption at rest"): the lock file (who holds
//! it), the plan key (a MAC key, not data), the names of files and S3
//! objects, and values in memory.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ring::aead;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// How every sealed file (and every sealed journal line) begins.
pub const SEALED_PREFIX: &[u8] = b"{\"stackc_sealed\":";
/// The envelope format written by this build.
pub const ENVELOPE_VERSION: u32 = 1;

/// argon2id cost written into new envelopes: OWASP's recommended setting
/// (19 MiB, 2 passes, 1 lane); about 40 ms in a release build.
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;
/// The most an envelope may ask of the KDF: a hostile file must not
/// exhaust memory or time.
const MAX_M_KIB: u32 = 1 << 20;
const MAX_T: u32 = 16;
const MAX_P: u32 = 8;
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The environment variables that configure encryption (read by
/// [`Keyring::from_env`]).
pub const ENV_PASSPHRASE: &str = "STACKC_STATE_PASSPHRASE";
pub const ENV_PASSPHRASE_PREVIOUS: &str = "STACKC_STATE_PASSPHRASE_PREVIOUS";
pub const ENV_KMS_KEY: &str = "STACKC_STATE_KMS_KEY_ID";
pub const ENV_ALLOW_PLAINTEXT: &str = "STACKC_STATE_ALLOW_PLAINTEXT";

/// A source of KMS data keys (AWS KMS GenerateDataKey and Decrypt).
pub trait DataKeys: Send + Sync {
    /// A new 256-bit data key under `key_id`: (plaintext, encrypted blob, the key's ARN or id).
    fn generate(&self, key_id: &str) -> Result<(Vec<u8>, Vec<u8>, String), String>;
    /// The plaintext of an encrypted data key.
    fn decrypt(&self, blob: &[u8]) -> Result<Vec<u8>, String>;
}

/// Why an envelope could not be made or opened. Messages never include a
/// key or plaintext.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "it is encrypted and no key is configured: set {ENV_PASSPHRASE} (or {ENV_PASSPHRASE_PREVIOUS} to only \
         read it), or {ENV_KMS_KEY} with AWS credentials for a KMS-encrypted one"
    )]
    NoKey,
    #[error(
        "it does not decrypt with the configured key{}: the passphrase is wrong (after changing it, give the old \
         one in {ENV_PASSPHRASE_PREVIOUS}), or the file was altered",
        if *several { "s" } else { "" }
    )]
    WrongKey { several: bool },
    #[error("it is not a valid encrypted file ({0}): it was truncated or altered")]
    Malformed(String),
    #[error("it was encrypted by a newer stackc (envelope version {0})")]
    Newer(u32),
    #[error("AWS KMS: {0}")]
    Kms(String),
    #[error("the system random generator failed: {0}")]
    Random(String),
    #[error("encryption is misconfigured: {0}")]
    Config(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    stackc_sealed: u32,
    key: KeyHeader,
    nonce: String,
    data: String,
}

/// How the envelope's key is found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KeyHeader {
    /// argon2id of a passphrase.
    Passphrase { salt: String, m: u32, t: u32, p: u32 },
    /// A KMS data key: `data_key` is its encrypted form (base64).
    Kms { key_id: String, data_key: String },
}

/// A key that can seal or open.
#[derive(Clone)]
pub enum KeySpec {
    Passphrase(String),
    /// A KMS key id or ARN, with the client that asks KMS for data keys.
    Kms(String, Arc<dyn DataKeys>),
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::Passphrase(_) => f.write_str("Passphrase(..)"),
            KeySpec::Kms(id, _) => write!(f, "Kms({id})"),
        }
    }
}

/// The keys of one command: one that seals (if any), those that open.
pub struct Keyring {
    current: Option<KeySpec>,
    previous: Vec<KeySpec>,
    /// Opens KMS envelopes whichever key is current (`None`: none can be).
    kms: Option<Arc<dyn DataKeys>>,
    allow_plaintext: bool,
    /// Keys already derived or decrypted: (header, which passphrase) -> key.
    opened: Mutex<Vec<(KeyHeader, usize, [u8; 32])>>,
    /// The write key of this process and its header.
    write_key: Mutex<Option<(KeyHeader, [u8; 32])>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("previous", &self.previous)
            .field("allow_plaintext", &self.allow_plaintext)
            .finish_non_exhaustive()
    }
}

/// True when `bytes` is an envelope (sealed), whatever its key.
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(SEALED_PREFIX)
}

impl Keyring {
    /// A keyring sealing with `current` (none: writes plain text) and
    /// opening with it or any of `previous`.
    pub fn new(current: Option<KeySpec>, previous: Vec<KeySpec>) -> Result<Keyring, SealError> {
        for spec in current.iter().chain(&previous) {
            if let KeySpec::Passphrase(text) = spec {
                if text.chars().count() < MIN_PASSPHRASE_CHARS {
                    return Err(SealError::Config(format!(
                        "a state passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
                    )));
                }
            }
        }
        let kms = current.iter().chain(&previous).find_map(|spec| match spec {
            KeySpec::Kms(_, client) => Some(client.clone()),
            KeySpec::Passphrase(_) => None,
        });
        Ok(Keyring {
            current,
            previous,
            kms,
            allow_plaintext: false,
            opened: Mutex::new(Vec::new()),
            write_key: Mutex::new(None),
        })
    }

    /// The keyring the environment configures, `None` when it configures
    /// none (and `kms` is `None`): `STACKC_STATE_PASSPHRASE` or
    /// `STACKC_STATE_KMS_KEY_ID` seals (not both), and
    /// `STACKC_STATE_PASSPHRASE_PREVIOUS` also opens;
    /// `STACKC_STATE_ALLOW_PLAINTEXT=1` lets a command write plain text
    /// over an encrypted state (to stop encrypting, on purpose). `kms` is
    /// the client for KMS data keys (made lazily: it touches no network
    /// before its first call); it also opens KMS envelopes when no KMS key
    /// is configured, with the key each envelope names.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        kms: Option<Arc<dyn DataKeys>>,
    ) -> Result<Option<Keyring>, SealError> {
        let get = |name: &str| get(name).filter(|value| !value.is_empty());
        let passphrase = get(ENV_PASSPHRASE);
        let kms_key = get(ENV_KMS_KEY);
        let allow_plaintext = match get(ENV_ALLOW_PLAINTEXT).as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(SealError::Config(format!("{ENV_ALLOW_PLAINTEXT} must be 1 or 0, not `{other}`")))
            }
        };
        let current = match (passphrase, kms_key) {
            (Some(_), Some(_)) => {
                return Err(SealError::Config(format!(
                    "both {ENV_PASSPHRASE} and {ENV_KMS_KEY} are set; set the one that encrypts (to read a state \
                     encrypted with the passphrase, give it in {ENV_PASSPHRASE_PREVIOUS})"
                )))
            }
            (Some(passphrase), None) => Some(KeySpec::Passphrase(passphrase)),
            (None, Some(key)) => match &kms {
                Some(client) => Some(KeySpec::Kms(key, client.clone())),
                None => return Err(SealError::Config(format!("{ENV_KMS_KEY} is set but KMS is not available"))),
            },
            (None, None) => None,
        };
        let previous: Vec<KeySpec> =
            get(ENV_PASSPHRASE_PREVIOUS).map(KeySpec::Passphrase).into_iter().collect();
        if current.is_none() && previous.is_empty() && !allow_plaintext && kms.is_none() {
            return Ok(None);
        }
        let mut keyring = Keyring::new(current, previous)?;
        if keyring.kms.is_none() {
            keyring.kms = kms;
        }
        keyring.allow_plaintext = allow_plaintext;
        Ok(Some(keyring))
    }

    /// True when this keyring encrypts what is written.
    pub fn seals(&self) -> bool {
        self.current.is_some()
    }

    /// True when plain text may be written over an encrypted state.
    pub fn allows_plaintext(&self) -> bool {
        self.allow_plaintext
    }

    /// `plaintext` as one envelope line (no newline) for `purpose`.
    /// Without a current key: `SealError::NoKey`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let (header, key) = self.write_key()?;
        let mut nonce = [0u8; aead::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let sealing = aead_key(&key);
        let mut data = plaintext.to_vec();
        sealing
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad(purpose)),
                &mut data,
            )
            .map_err(|_| SealError::Malformed("AES-GCM refused the data".into()))?;
        let envelope = Envelope {
            stackc_sealed: ENVELOPE_VERSION,
            key: header,
            nonce: BASE64.encode(nonce),
            data: BASE64.encode(&data),
        };
        let bytes = serde_json::to_vec(&envelope).map_err(|e| SealError::Malformed(e.to_string()))?;
        debug_assert!(is_sealed(&bytes));
        Ok(bytes)
    }

    /// The plaintext of the envelope `bytes` sealed for `purpose`
    /// (surrounding whitespace ignored).
    pub fn open(&self, purpose: &str, bytes: &[u8]) -> Result<Vec<u8>, SealError> {
        let envelope = parse(bytes)?;
        let nonce: [u8; aead::NONCE_LEN] = BASE64
            .decode(&envelope.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| SealError::Malformed("its nonce is not 12 bytes of base64".into()))?;
        let data = BASE64
            .decode(&envelope.data)
            .map_err(|_| SealError::Malformed("its data is not base64".into()))?;
        let keys = self.candidate_keys(&envelope.key)?;
        let several = keys.len() > 1;
        for key in keys {
            let opening = aead_key(&key);
            let mut buffer = data.clone();
            if let Ok(plain) = opening.open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad(purpose)),
                &mut buffer,
            ) {
                let length = plain.len();
                buffer.truncate(length);
                return Ok(buffer);
            }
        }
        Err(SealError::WrongKey { several })
    }

    /// The keys that may open an envelope with `header`, derived or
    /// decrypted (once per process).
    fn candidate_keys(&self, header: &KeyHeader) -> Result<Vec<[u8; 32]>, SealError> {
        match header {
            KeyHeader::Passphrase { salt, m, t, p } => {
                let passphrases: Vec<(usize, &str)> = self
                    .current
                    .iter()
                    .chain(&self.previous)
                    .enumerate()
                    .filter_map(|(i, spec)| match spec {
                        KeySpec::Passphrase(text) => Some((i, text.as_str())),
                        KeySpec::Kms(..) => None,
                    })
                    .collect();
                if passphrases.is_empty() {
                    return Err(SealError::NoKey);
                }
                let salt =
                    BASE64.decode(salt).map_err(|_| SealError::Malformed("its salt is not base64".into()))?;
                let mut keys = Vec::new();
                for (index, passphrase) in passphrases {
                    if let Some(key) = self.cached(header, index) {
                        keys.push(key);
                        continue;
                    }
                    let key = derive(passphrase, &salt, *m, *t, *p)?;
                    self.remember(header, index, key);
                    keys.push(key);
                }
                Ok(keys)
            }
            KeyHeader::Kms { data_key, .. } => {
                if let Some(key) = self.cached(header, usize::MAX) {
                    return Ok(vec![key]);
                }
                let client = self.kms.as_ref().ok_or(SealError::NoKey)?;
                let blob = BASE64
                    .decode(data_key)
                    .map_err(|_| SealError::Malformed("its data key is not base64".into()))?;
                let plain = client.decrypt(&blob).map_err(SealError::Kms)?;
                let key: [u8; 32] =
                    plain.try_into().map_err(|_| SealError::Kms("the data key is not 256 bits".into()))?;
                self.remember(header, usize::MAX, key);
                Ok(vec![key])
            }
        }
    }

    fn cached(&self, header: &KeyHeader, index: usize) -> Option<[u8; 32]> {
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        opened.iter().find(|(h, i, _)| h == header && *i == index).map(|(_, _, key)| *key)
    }

    fn remember(&self, header: &KeyHeader, index: usize, key: [u8; 32]) {
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        opened.push((header.clone(), index, key));
    }

    /// This process's write key: derived (passphrase, fresh salt) or
    /// generated (KMS) at the first seal.
    fn write_key(&self) -> Result<(KeyHeader, [u8; 32]), SealError> {
        let mut slot = self.write_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((header, key)) = slot.as_ref() {
            return Ok((header.clone(), *key));
        }
        let (header, key, index) = match self.current.as_ref().ok_or(SealError::NoKey)? {
            KeySpec::Passphrase(passphrase) => {
                let mut salt = [0u8; 16];
                getrandom::fill(&mut salt).map_err(|e| SealError::Random(e.to_string()))?;
                let key = derive(passphrase, &salt, ARGON2_M_KIB, ARGON2_T, ARGON2_P)?;
                let header = KeyHeader::Passphrase {
                    salt: BASE64.encode(salt),
                    m: ARGON2_M_KIB,
                    t: ARGON2_T,
                    p: ARGON2_P,
                };
                (header, key, 0)
            }
            KeySpec::Kms(key_id, client) => {
                let (plain, blob, arn) = client.generate(key_id).map_err(SealError::Kms)?;
                let key: [u8; 32] =
                    plain.try_into().map_err(|_| SealError::Kms("the data key is not 256 bits".into()))?;
                (KeyHeader::Kms { key_id: arn, data_key: BASE64.encode(blob) }, key, usize::MAX)
            }
        };
        self.remember(&header, index, key);
        *slot = Some((header.clone(), key));
        Ok((header, key))
    }
}

/// The plaintext of `bytes` read from `path`: opened for `purpose` when
/// sealed, as is otherwise.
pub(super) fn unseal<'b>(
    keyring: Option<&Keyring>,
    path: &std::path::Path,
    purpose: &str,
    bytes: &'b [u8],
) -> Result<std::borrow::Cow<'b, [u8]>, super::BackendError> {
    if !is_sealed(bytes) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let sealed = |problem| super::BackendError::Sealed { path: path.to_path_buf(), problem };
    let keyring = keyring.ok_or_else(|| sealed(SealError::NoKey))?;
    keyring.open(purpose, bytes).map(std::borrow::Cow::Owned).map_err(sealed)
}

/// `bytes` as written to `path`: sealed for `purpose` (one line) when
/// `keyring` has a current key, as is otherwise.
pub(super) fn seal(
    keyring: Option<&Keyring>,
    path: &std::path::Path,
    purpose: &str,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, super::BackendError> {
    match keyring {
        Some(keyring) if keyring.seals() => {
            let mut sealed = keyring
                .seal(purpose, &bytes)
                .map_err(|problem| super::BackendError::Sealed { path: path.to_path_buf(), problem })?;
            sealed.push(b'\n');
            Ok(sealed)
        }
        _ => Ok(bytes),
    }
}

fn parse(bytes: &[u8]) -> Result<Envelope, SealError> {
    #[derive(Deserialize)]
    struct Version {
        stackc_sealed: u32,
    }
    let text = bytes.trim_ascii();
    if !is_sealed(text) {
        return Err(SealError::Malformed("it does not begin as an envelope".into()));
    }
    let version: Version = serde_json::from_slice(text).map_err(|e| {
        SealError::Malformed(if e.is_eof() { "it ends too early".into() } else { e.to_string() })
    })?;
    if version.stackc_sealed > ENVELOPE_VERSION {
        return Err(SealError::Newer(version.stackc_sealed));
    }
    serde_json::from_slice(text).map_err(|e| SealError::Malformed(e.to_string()))
}

fn aad(purpose: &str) -> Vec<u8> {
    format!("stackc-sealed/{ENVELOPE_VERSION}/{purpose}").into_bytes()
}

fn aead_key(key: &[u8; 32]) -> aead::LessSafeKey {
    // 32 bytes is always a valid AES-256 key.
    aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key).expect("a 256-bit key"))
}

/// argon2id of `passphrase`, within the bounds a file may ask for.
fn derive(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32], SealError> {
    if m > MAX_M_KIB || t > MAX_T || p > MAX_P || salt.len() < 8 || salt.len() > 64 {
        return Err(SealError::Malformed(format!(
            "its key derivation asks for m={m} KiB, t={t}, p={p}, a {}-byte salt, beyond what stackc accepts",
            salt.len()
        )));
    }
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|e| SealError::Malformed(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| SealError::Malformed(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"{\"password\": \"CANARY-hunter2\"}";

    fn ring(current: &str, previous: &[&str]) -> Keyring {
        Keyring::new(
            Some(KeySpec::Passphrase(current.into())),
            previous.iter().map(|p| KeySpec::Passphrase(p.to_string())).collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_hides_the_plaintext() {
        let keys = ring("correct horse", &[]);
        let sealed = keys.seal("state", SECRET).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(6).any(|w| w == b"CANARY"), "{}", String::from_utf8_lossy(&sealed));
        assert!(!sealed.contains(&b'\n'), "one line");
        assert_eq!(keys.open("state", &sealed).unwrap(), SECRET);
        // A fresh process (no cache) opens it too.
        assert_eq!(ring("correct horse", &[]).open("state", &sealed).unwrap(), SECRET);
    }

    #[test]
    fn a_wrong_key_is_refused() {
        let sealed = ring("correct horse", &[]).seal("state", SECRET).unwrap();
        let error = ring("battery staple", &[]).open("state", &sealed).unwrap_err();
        assert_eq!(error, SealError::WrongKey { several: false });
        assert!(error.to_string().contains("STACKC_STATE_PASSPHRASE_PREVIOUS"));
        let none = Keyring::new(None, Vec::new()).unwrap();
        assert_eq!(none.open("state", &sealed).unwrap_err(), SealError::NoKey);
        assert_eq!(none.seal("state", SECRET).unwrap_err(), SealError::NoKey);
    }

    #[test]
    fn another_purpose_is_refused() {
        let keys = ring("correct horse", &[]);
        let line = keys.seal("journal/2", SECRET).unwrap();
        assert!(matches!(keys.open("journal/3", &line), Err(SealError::WrongKey { .. })));
        assert!(matches!(keys.open("state", &line), Err(SealError::WrongKey { .. })));
    }

    #[test]
    fn every_tampered_byte_is_detected() {
        let keys = ring("correct horse", &[]);
        let sealed = keys.seal("state", SECRET).unwrap();
        let data_at = sealed.windows(8).position(|w| w == b"\"data\":\"").unwrap() + 8;
        let end = sealed.len() - 2;
        for at in data_at..end {
            let mut tampered = sealed.clone();
            // Another base64 letter, so the text still decodes.
            tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
            assert!(keys.open("state", &tampered).is_err(), "byte {at} changed and accepted");
        }
        let mut nonce = sealed.clone();
        let nonce_at = nonce.windows(9).position(|w| w == b"\"nonce\":\"").unwrap() + 9;
        nonce[nonce_at] = if nonce[nonce_at] == b'A' { b'B' } else { b'A' };
        assert!(keys.open("state", &nonce).is_err());
    }

    #[test]
    fn truncated_files_are_refused() {
        let keys = ring("correct horse", &[]);
        let sealed = keys.seal("state", SECRET).unwrap();
        for length in [0, 5, SEALED_PREFIX.len(), sealed.len() / 2, sealed.len() - 1] {
            let error = keys.open("state", &sealed[..length]).unwrap_err();
            assert!(matches!(error, SealError::Malformed(_)), "{length}: {error:?}");
        }
    }

    #[test]
    fn rotation_opens_with_the_previous_key_and_seals_with_the_new() {
        let old = ring("old passphrase", &[]).seal("state", SECRET).unwrap();
        let rotated = ring("new passphrase", &["old passphrase"]);
        assert_eq!(rotated.open("state", &old).unwrap(), SECRET);
        let new = rotated.seal("state", SECRET).unwrap();
        assert!(ring("new passphrase", &[]).open("state", &new).is_ok());
        assert_eq!(
            ring("old passphrase", &[]).open("state", &new).unwrap_err(),
            SealError::WrongKey { several: false }
        );
        assert_eq!(
            ring("third passphrase", &["fourth passphrase"]).open("state", &old).unwrap_err(),
            SealError::WrongKey { several: true }
        );
    }

    #[test]
    fn hostile_kdf_costs_are_refused_before_deriving() {
        let keys = ring("correct horse", &[]);
        let sealed = String::from_utf8(keys.seal("state", SECRET).unwrap()).unwrap();
        let costly = sealed.replace(&format!("\"m\":{ARGON2_M_KIB}"), "\"m\":4000000000");
        assert!(matches!(
            ring("correct horse", &[]).open("state", costly.as_bytes()),
            Err(SealError::Malformed(_))
        ));
        let newer = sealed.replace("{\"stackc_sealed\":1", "{\"stackc_sealed\":9");
        assert_eq!(keys.open("state", newer.as_bytes()).unwrap_err(), SealError::Newer(9));
    }

    #[test]
    fn the_environment_configures_one_sealing_key() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        assert!(Keyring::from_env(env(&[]), None).unwrap().is_none());
        let keys = Keyring::from_env(env(&[(ENV_PASSPHRASE, "correct horse")]), None).unwrap().unwrap();
        assert!(keys.seals() && !keys.allows_plaintext());
        let reader =
            Keyring::from_env(env(&[(ENV_PASSPHRASE_PREVIOUS, "correct horse")]), None).unwrap().unwrap();
        assert!(!reader.seals());
        assert_eq!(reader.open("state", &keys.seal("state", SECRET).unwrap()).unwrap(), SECRET);
        let short = Keyring::from_env(env(&[(ENV_PASSPHRASE, "short")]), None).unwrap_err();
        assert!(short.to_string().contains("at least 8 characters"), "{short}");
        let both =
            Keyring::from_env(env(&[(ENV_PASSPHRASE, "correct horse"), (ENV_KMS_KEY, "alias/x")]), None);
        assert!(matches!(both, Err(SealError::Config(_))));
        let bad = Keyring::from_env(env(&[(ENV_ALLOW_PLAINTEXT, "yes")]), None);
        assert!(matches!(bad, Err(SealError::Config(_))));
    }
}
