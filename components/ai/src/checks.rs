//! Argument checks several components share.

use cairn_core::InvalidArgs;

/// Checks `min ≤ desired ≤ max ≤ cap` for a pool's sizes; fields are named
/// as the component names them (`min_size`, `min_replicas`, ...).
pub(crate) fn sizes(
    (min_field, min): (&str, i32),
    (desired_field, desired): (&str, Option<i32>),
    (max_field, max): (&str, i32),
    (cap_field, cap): (&str, i32),
    what: &str,
) -> Result<(), InvalidArgs> {
    if min < 0 {
        return Err(InvalidArgs::new(min_field, format!("is {min}"), "give 0 or more"));
    }
    if max < 1 {
        return Err(InvalidArgs::new(max_field, format!("is {max}"), "give 1 or more"));
    }
    if min > max {
        return Err(InvalidArgs::new(
            min_field,
            format!("({min}) is above {max_field} ({max})"),
            format!("lower {min_field} or raise {max_field}"),
        ));
    }
    if let Some(d) = desired
        && !(min..=max).contains(&d)
    {
        return Err(InvalidArgs::new(
            desired_field,
            format!("({d}) is outside {min_field}..={max_field} ({min}..={max})"),
            format!("give a {desired_field} between {min} and {max}"),
        ));
    }
    if max > cap {
        return Err(InvalidArgs::new(
            max_field,
            format!("({max}) is above the cap of {cap} {what}"),
            format!("lower {max_field}, or raise {cap_field} deliberately"),
        ));
    }
    Ok(())
}

/// Checks that a name used inside AWS names and Kubernetes objects is a DNS label.
pub(crate) fn dns_label(field: &str, value: &str) -> Result<(), InvalidArgs> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(InvalidArgs::new(
            field,
            format!("`{value}` is not a DNS label"),
            "use 1 to 63 lowercase letters, digits and dashes, starting and ending with a letter or digit",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(min: i32, desired: Option<i32>, max: i32) -> Result<(), InvalidArgs> {
        sizes(("min", min), ("desired", desired), ("max", max), ("cap", 16), "nodes")
    }

    #[test]
    fn sizes_are_ordered_and_capped() {
        check(0, Some(0), 2).unwrap();
        assert!(check(3, None, 2).unwrap_err().to_string().contains("lower min or raise max"));
        assert!(check(0, Some(5), 2).unwrap_err().to_string().contains("between 0 and 2"));
        assert!(check(0, None, 17).unwrap_err().to_string().contains("raise cap deliberately"));
        assert!(check(-1, None, 1).is_err() && check(0, None, 0).is_err());
    }

    #[test]
    fn dns_labels() {
        dns_label("n", "llm-7b").unwrap();
        for bad in ["", "Upper", "-x", "x-", "a_b", &"a".repeat(64)] {
            assert!(dns_label("n", bad).is_err(), "{bad}");
        }
    }
}
