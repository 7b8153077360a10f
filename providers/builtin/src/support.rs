//! Shared pieces of the built-in resource types: reading a configuration
//! attribute with the attribute's name in every error, an unbiased random
//! source, duration strings and RFC 3339 timestamps.

use stackc_model::schema::ResourceSchema;
use stackc_model::Value;
use stackc_providers::{ObjectState, ProviderError, ProviderResult};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One configured attribute as seen by a provider operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<T> {
    /// Not set (or null).
    Absent,
    /// Set, but known only after apply (planning only).
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    /// The value, the default when absent, `None` when unknown.
    pub fn or_default(self, default: T) -> Option<T> {
        match self {
            Field::Absent => Some(default),
            Field::Unknown => None,
            Field::Known(value) => Some(value),
        }
    }
}

/// The configuration object of one resource, with its type name for errors.
pub struct Config<'a> {
    pub type_name: &'a str,
    pub fields: &'a stackc_model::Fields,
}

static EMPTY: std::sync::LazyLock<stackc_model::Fields> = std::sync::LazyLock::new(Default::default);

impl<'a> Config<'a> {
    /// Checks that `config` is an object naming only settable attributes of
    /// `schema`.
    pub fn new(schema: &'a ResourceSchema, config: &'a Value) -> ProviderResult<Config<'a>> {
        let type_name = schema_name(schema);
        let fields = match config {
            Value::Null => &*EMPTY,
            other => other.as_object().ok_or_else(|| {
                ProviderError::new(format!("{type_name}: the configuration must be an object"))
            })?,
        };
        for name in fields.keys() {
            let settable = schema
                .attributes
                .get(name)
                .is_some_and(|a| !matches!(a.mode, stackc_model::schema::AttributeMode::Computed));
            if !settable {
                let known: Vec<&str> = schema.settable().collect();
                return Err(ProviderError::new(format!(
                    "{type_name}: `{name}` is not an attribute that can be set (settable: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(Config { type_name, fields })
    }

    /// The raw value, `Null` when absent.
    pub fn value(&self, name: &str) -> &'a Value {
        self.fields.get(name).unwrap_or(&Value::Null)
    }

    fn raw(&self, name: &str) -> Field<&'a Value> {
        match self.fields.get(name).map(strip_marks) {
            None | Some(Value::Null) => Field::Absent,
            Some(value) if value.has_unknown() => Field::Unknown,
            Some(value) => Field::Known(value),
        }
    }

    pub fn error(&self, name: &str, message: impl std::fmt::Display) -> ProviderError {
        ProviderError::new(format!("{}: `{name}` {message}", self.type_name))
    }

    pub fn bool(&self, name: &str) -> ProviderResult<Field<bool>> {
        match self.raw(name) {
            Field::Absent => Ok(Field::Absent),
            Field::Unknown => Ok(Field::Unknown),
            Field::Known(Value::Bool(b)) => Ok(Field::Known(*b)),
            Field::Known(other) => Err(self.error(name, format!("must be true or false, got {other}"))),
        }
    }

    pub fn string(&self, name: &str) -> ProviderResult<Field<&'a str>> {
        match self.raw(name) {
            Field::Absent => Ok(Field::Absent),
            Field::Unknown => Ok(Field::Unknown),
            Field::Known(Value::String(s)) => Ok(Field::Known(s.as_str())),
            Field::Known(other) => Err(self.error(name, format!("must be a string, got {other}"))),
        }
    }

    /// A whole number in `min..=max`.
    pub fn whole(&self, name: &str, min: u64, max: u64) -> ProviderResult<Field<u64>> {
        match self.raw(name) {
            Field::Absent => Ok(Field::Absent),
            Field::Unknown => Ok(Field::Unknown),
            Field::Known(Value::Number(n)) if n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64 => {
                Ok(Field::Known(*n as u64))
            }
            Field::Known(other) => {
                Err(self.error(name, format!("must be a whole number from {min} to {max}, got {other}")))
            }
        }
    }

    /// A duration string (`"30s"`, `"250ms"`, `"1m30s"`), or a number of
    /// seconds.
    pub fn duration(&self, name: &str) -> ProviderResult<Field<Duration>> {
        match self.raw(name) {
            Field::Absent => Ok(Field::Absent),
            Field::Unknown => Ok(Field::Unknown),
            Field::Known(Value::String(text)) => {
                parse_duration(text).map(Field::Known).map_err(|e| self.error(name, e))
            }
            Field::Known(Value::Number(seconds)) => Duration::try_from_secs_f64(*seconds)
                .ok()
                .filter(|d| *d <= MAX_DURATION)
                .map(Field::Known)
                .ok_or_else(|| {
                    self.error(name, format!("must be from 0 to a week in seconds, got {seconds}"))
                }),
            Field::Known(other) => {
                Err(self.error(name, format!("must be a duration like \"30s\" or \"250ms\", got {other}")))
            }
        }
    }

    /// A map (an object value); the values are kept as they are.
    pub fn map(&self, name: &str) -> ProviderResult<()> {
        match self.raw(name) {
            Field::Known(Value::Object(_)) | Field::Absent | Field::Unknown => Ok(()),
            Field::Known(other) => Err(self.error(name, format!("must be a map, got {other}"))),
        }
    }

    /// Fails when an attribute is still unknown at apply time.
    pub fn require_known<T>(&self, name: &str, field: Field<T>, default: T) -> ProviderResult<T> {
        field.or_default(default).ok_or_else(|| self.error(name, "is still unknown at apply time"))
    }
}

fn schema_name(schema: &ResourceSchema) -> &str {
    &schema.type_name
}

/// Sensitive marks do not change what a value is.
fn strip_marks(value: &Value) -> &Value {
    match value {
        Value::Sensitive(inner) => strip_marks(inner),
        other => other,
    }
}

/// The object of every schema attribute in schema order: `configured`
/// values first, then `computed` ones, null for the rest.
pub fn attributes(
    schema: &ResourceSchema,
    configured: &stackc_model::Fields,
    computed: Vec<(&str, Value)>,
) -> Value {
    // A handful of entries: a list searched by name, not a hashed map
    // (built and emptied for every resource planned, it was most of the
    // cost of planning a `stackc_data`). The last one of a name wins.
    let mut computed = computed;
    let object = schema
        .attributes
        .keys()
        .map(|name| {
            let value = match computed.iter().rposition(|(n, _)| *n == name.as_str()) {
                Some(i) => computed.swap_remove(i).1,
                None => configured.get(name).cloned().unwrap_or(Value::Null),
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(object)
}

/// True when every force-new attribute of `planned` equals the prior
/// object's (sensitive marks aside): the prior object can be kept.
pub fn same_object(schema: &ResourceSchema, prior: &ObjectState, planned: &stackc_model::Fields) -> bool {
    schema.attributes.iter().filter(|(_, a)| a.force_new).all(|(name, _)| {
        let old = prior.attributes.get_path(&[name.as_str()]).map(Value::unmarked).unwrap_or(Value::Null);
        let new = planned.get(name).map(Value::unmarked).unwrap_or(Value::Null);
        !new.has_unknown() && old == new
    })
}

/// The prior's computed attribute, if it may be kept.
pub fn prior_attribute(prior: Option<&ObjectState>, keep: bool, name: &str) -> Value {
    match prior {
        Some(prior) if keep => prior.attributes.get_path(&[name]).cloned().unwrap_or(Value::Unknown),
        _ => Value::Unknown,
    }
}

/// Where random bytes come from: the OS in production, a script in tests.
pub trait RandomSource {
    fn fill(&mut self, buffer: &mut [u8]) -> ProviderResult<()>;

    fn next_u32(&mut self) -> ProviderResult<u32> {
        let mut bytes = [0u8; 4];
        self.fill(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    /// A uniform integer in `0..bound` (`bound >= 1`) by rejection
    /// sampling: draws at or above the largest multiple of `bound` that fits
    /// in 2^32 are thrown away, so no value is favoured (no modulo bias).
    fn below(&mut self, bound: u32) -> ProviderResult<u32> {
        let bound = u64::from(bound.max(1));
        let zone = (1u64 << 32) / bound * bound;
        loop {
            let draw = u64::from(self.next_u32()?);
            if draw < zone {
                return Ok((draw % bound) as u32);
            }
        }
    }
}

/// The operating system's generator (`getrandom`).
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buffer: &mut [u8]) -> ProviderResult<()> {
        getrandom::fill(buffer)
            .map_err(|e| ProviderError::new(format!("the system random generator failed: {e}")))
    }
}

/// A random version-4 UUID, the id of `stackc_data` objects.
pub fn random_uuid(random: &mut dyn RandomSource) -> ProviderResult<String> {
    let mut b = [0u8; 16];
    random.fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// The longest duration accepted: a week (a longer sleep is a mistake).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses a duration: one or more `<number><unit>` with units `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h` (`"30s"`, `"250ms"`, `"1m30s"`, `"1.5h"`);
/// `"0"` alone is zero. At most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = |why: &str| {
        format!("is not a valid duration ({why}): {text:?}; write e.g. \"30s\", \"250ms\" or \"1m30s\"")
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(invalid("a number needs a unit")),
            _ => return Err(invalid("units are ns, us, ms, s, m, h")),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid("a unit needs a number"));
        }
        if fraction.contains('.') || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("malformed number"));
        }
        let too_long = || invalid("longer than a week");
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_long())? };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(too_long)?;
        let mut scale = unit_nanos;
        for digit in fraction.bytes().take(30) {
            scale /= 10;
            nanos += u128::from(digit - b'0') * scale;
        }
        total = total.checked_add(nanos).ok_or_else(too_long)?;
        if total > MAX_DURATION.as_nanos() {
            return Err(too_long());
        }
        rest = after;
    }
    let secs = (total / 1_000_000_000) as u64;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// `time` as an RFC 3339 UTC timestamp with seconds (`2026-11-24T05:55:55Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Plays back a fixed list of `u32` draws, then fails.
    pub struct Script(pub Vec<u32>, pub usize);

    impl RandomSource for Script {
        fn fill(&mut self, buffer: &mut [u8]) -> ProviderResult<()> {
            for chunk in buffer.chunks_mut(4) {
                let draw =
                    self.0.get(self.1).copied().ok_or_else(|| ProviderError::new("script exhausted"))?;
                self.1 += 1;
                chunk.copy_from_slice(&draw.to_le_bytes()[..chunk.len()]);
            }
            Ok(())
        }
    }

    #[test]
    fn below_rejects_draws_in_the_biased_tail() {
        // 2^32 = 69_273_666 * 62 + 4: the top four draws would favour 0..4.
        let mut script = Script(vec![u32::MAX, u32::MAX - 3, 4_294_967_291, 7], 0);
        assert_eq!(script.below(62).unwrap(), 4_294_967_291 % 62);
        assert_eq!(script.1, 3, "the two draws at or above the zone are rejected");
        assert_eq!(script.below(62).unwrap(), 7);
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut counts = [0u32; 62];
        for _ in 0..62_000 {
            counts[OsRandom.below(62).unwrap() as usize] += 1;
        }
        // Expected 1000 each; 6 sigma is about 190.
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }

    #[test]
    fn durations_parse() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("3ns"), Ok(Duration::from_nanos(3)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "30",
            "s",
            "5x",
            "1..5s",
            "-1s",
            " 1s",
            "1s ",
            "99999999999999999999999999999999999999999h",
            "169h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("168h").is_ok());
        assert!(parse_duration("1d").unwrap_err().contains("units are"));
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_499_755)), "2026-11-24T05:55:55Z");
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let id = random_uuid(&mut OsRandom).unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
