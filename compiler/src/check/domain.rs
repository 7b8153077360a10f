//! Domain types' rules (`port`, `quantity`, `duration`): whether a known
//! value is one, and if not, the sentence the checker reports.

pub fn check_port(n: f64) -> Result<(), String> {
    if n.fract() != 0.0 || !(1.0..=65535.0).contains(&n) {
        return Err(format!(
            "`{}` is not a port: ports are whole numbers from 1 to 65535",
            crate::value::format_number(n)
        ));
    }
    Ok(())
}

pub fn parse_quantity(text: &str) -> Result<(), String> {
    let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E", ""];
    for suffix in suffixes {
        if let Some(number) = text.strip_suffix(suffix) {
            if !number.is_empty()
                && number.parse::<f64>().is_ok_and(|n| n >= 0.0)
                && !number.contains(['e', 'E'])
            {
                return Ok(());
            }
        }
    }
    Err(format!("{text:?} is not a quantity"))
}

pub fn parse_duration(text: &str) -> Result<(), String> {
    let mut rest = text;
    if rest.is_empty() {
        return Err("an empty string is not a duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?} is not a duration"));
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h"].into_iter().find(|u| rest.starts_with(u));
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => {
                return Err(format!(
                    "{text:?} is not a duration: a number needs a unit (`ms`, `s`, `m`, `h`)"
                ))
            }
        }
    }
    Ok(())
}
