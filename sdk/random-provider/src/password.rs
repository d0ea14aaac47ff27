//! `random:index:Password`.

use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};
use cairn_random::{PasswordArgs, PasswordOutputs};
use rand::Rng;
use rand::seq::SliceRandom;

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";

/// A password as the arguments ask: each minimum met, the rest drawn from
/// every enabled class, then shuffled so the minimums sit anywhere.
pub(crate) fn generate(args: &PasswordArgs, rng: &mut impl Rng) -> String {
    let classes: Vec<(&str, u32)> = [
        (args.upper, UPPER, args.min_upper),
        (args.lower, LOWER, args.min_lower),
        (args.numeric, DIGITS, args.min_numeric),
        (args.special, args.special_chars(), args.min_special),
    ]
    .into_iter()
    .filter(|(on, chars, _)| *on && !chars.is_empty())
    .map(|(_, chars, min)| (chars, min))
    .collect();
    let pool: Vec<char> = classes.iter().flat_map(|(chars, _)| chars.chars()).collect();
    let mut out: Vec<char> = Vec::with_capacity(args.length as usize);
    for (chars, min) in &classes {
        let chars: Vec<char> = chars.chars().collect();
        out.extend((0..*min).map(|_| chars[rng.random_range(0..chars.len())]));
    }
    while out.len() < args.length as usize {
        out.push(pool[rng.random_range(0..pool.len())]);
    }
    out.shuffle(rng);
    out.into_iter().collect()
}

pub(crate) async fn create(_: &(), req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: PasswordArgs = cairn_provider_sdk::args(&req.inputs)?;
    let result = generate(&args, &mut rand::rng());
    let mut outputs = cairn_provider_sdk::to_value(&PasswordOutputs { result })?;
    // The password is a secret wherever it goes: sealed in the state, masked in plans.
    if let Value::Map(map) = &mut outputs
        && let Some(v) = map.remove("result")
    {
        map.insert("result".into(), v.into_secret());
    }
    let id = format!("pw-{:016x}", rand::rng().random::<u64>());
    Ok(CreateResponse { id, outputs })
}

pub(crate) async fn read(_: &(), req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    if req.id.is_some() && req.outputs.is_none() {
        return Err(ProviderError::invalid(format!(
            "{}: a random password cannot be imported (its value exists nowhere but in a state); declare it \
             without `import` and Cairn generates one",
            req.urn
        )));
    }
    Ok(crate::recorded(req))
}

pub(crate) async fn update(_: &(), req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    Err(crate::no_update(&req))
}

pub(crate) async fn delete(_: &(), _req: DeleteRequest) -> Result<(), ProviderError> {
    // Forgetting the value is all there is to it: the state drops the record.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_has_its_length_its_minimums_and_only_enabled_classes() {
        let args = PasswordArgs::builder().length(24).special(false).min_numeric(6).min_upper(3).build();
        for _ in 0..200 {
            let p = generate(&args, &mut rand::rng());
            assert_eq!(p.chars().count(), 24);
            assert!(p.chars().filter(char::is_ascii_digit).count() >= 6, "{p}");
            assert!(p.chars().filter(char::is_ascii_uppercase).count() >= 3, "{p}");
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()), "no special characters: {p}");
        }
        let only = PasswordArgs::builder().upper(false).lower(false).numeric(false).override_special("-_").build();
        assert!(generate(&only, &mut rand::rng()).chars().all(|c| c == '-' || c == '_'));
    }

    #[test]
    fn two_passwords_differ() {
        let args = PasswordArgs::builder().build();
        assert_ne!(generate(&args, &mut rand::rng()), generate(&args, &mut rand::rng()));
    }
}
