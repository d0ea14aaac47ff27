//! `awskms://KEY` data keys for sealing secrets at rest: `GenerateDataKey`
//! (AES-256) and `Decrypt`, always naming the configured key and the stack's
//! encryption context, so a wrapped key opens only under that key and for
//! that stack. The key that actually unwrapped a data key is also compared
//! with the configured one (resolved once with `DescribeKey`), so a stack
//! whose config names another key is refused with both keys named.
//!
//! `KEY` is what KMS accepts as a key id: `alias/NAME`, a key id, or a key
//! or alias ARN (`awskms://arn:aws:kms:REGION:ACCOUNT:key/ID`; Pulumi's
//! `awskms:///arn:…` spelling is accepted too).

pub(crate) mod alias;
pub(crate) mod key;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use cairn_core::{ErrorCode, ProviderError, Value};
use tokio::sync::Mutex;

use crate::sdk::aws_error;

/// The KMS key service of the AWS plugin. Clients are made once per
/// provider configuration.
#[derive(Default)]
pub struct KmsKeys {
    clients: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    /// Key ARNs by (configuration, key as configured).
    arns: Mutex<HashMap<(String, String), String>>,
}

/// The key id in `awskms://KEY`.
fn key_id(key_url: &str) -> Result<&str, ProviderError> {
    let key = key_url.strip_prefix("awskms://").ok_or_else(|| {
        ProviderError::invalid(format!(
            "`{key_url}` is not a KMS key: write it as awskms://alias/NAME or awskms://KEY_ARN"
        ))
    })?;
    let key = key.strip_prefix('/').unwrap_or(key);
    if key.is_empty() || key.contains(['?', '#', ' ']) {
        return Err(ProviderError::invalid(format!(
            "`{key_url}` does not name a KMS key: write awskms://alias/NAME, awskms://KEY_ID or awskms://KEY_ARN \
             (the region comes from [provider.aws] or AWS_REGION)"
        )));
    }
    Ok(key)
}

impl KmsKeys {
    async fn client(&self, config: &Value) -> Result<aws_sdk_kms::Client, ProviderError> {
        let cache_key = config.to_json().to_string();
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&cache_key) {
            return Ok(c.clone());
        }
        let (sdk_config, _) = crate::settings::Settings::parse(config)?.sdk_config().await?;
        let client = aws_sdk_kms::Client::new(&sdk_config);
        clients.insert(cache_key, client.clone());
        Ok(client)
    }

    /// The ARN of the key `key` names (an alias resolves to its target key).
    async fn arn(&self, client: &aws_sdk_kms::Client, config: &Value, key: &str) -> Result<String, ProviderError> {
        let cache_key = (config.to_json().to_string(), key.to_owned());
        if let Some(arn) = self.arns.lock().await.get(&cache_key) {
            return Ok(arn.clone());
        }
        let out = client.describe_key().key_id(key).send().await.map_err(|e| aws_error("KMS DescribeKey", key, e))?;
        let arn = out
            .key_metadata()
            .and_then(|m| m.arn())
            .ok_or_else(|| ProviderError::internal(format!("KMS DescribeKey {key} returned no key ARN")))?
            .to_owned();
        self.arns.lock().await.insert(cache_key, arn.clone());
        Ok(arn)
    }
}

#[async_trait::async_trait]
impl cairn_plugin::KeyService for KmsKeys {
    async fn generate(
        &self,
        key_url: &str,
        config: Value,
        context: BTreeMap<String, String>,
    ) -> Result<(Vec<u8>, Vec<u8>), ProviderError> {
        let key = key_id(key_url)?;
        let out = self
            .client(&config)
            .await?
            .generate_data_key()
            .key_id(key)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_error("KMS GenerateDataKey with", key, e))?;
        match (out.plaintext, out.ciphertext_blob) {
            (Some(plain), Some(wrapped)) => Ok((plain.into_inner(), wrapped.into_inner())),
            _ => Err(ProviderError::internal(format!("KMS GenerateDataKey with {key} returned no key"))),
        }
    }

    async fn unwrap(
        &self,
        key_url: &str,
        config: Value,
        context: BTreeMap<String, String>,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, ProviderError> {
        let key = key_id(key_url)?;
        let client = self.client(&config).await?;
        let expected = self.arn(&client, &config, key).await?;
        let out = client
            .decrypt()
            // Naming the key makes KMS refuse a data key wrapped by any other key.
            .key_id(key)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(Some(context.into_iter().collect::<HashMap<_, _>>()))
            .send()
            .await
            .map_err(|e| aws_error("KMS Decrypt with", key, e))?;
        match out.key_id() {
            Some(used) if used != expected => {
                return Err(ProviderError::new(
                    ErrorCode::PermissionDenied,
                    format!(
                        "the data key was wrapped by KMS key {used}, not by {key} ({expected}); name the key that \
                         sealed the stack's secrets"
                    ),
                ));
            }
            _ => {}
        }
        out.plaintext
            .map(Blob::into_inner)
            .ok_or_else(|| ProviderError::internal(format!("KMS Decrypt with {key} returned no plaintext")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_name_an_alias_an_id_or_an_arn() {
        assert_eq!(key_id("awskms://alias/cairn-prod").unwrap(), "alias/cairn-prod");
        assert_eq!(key_id("awskms://1234abcd-12ab-34cd-56ef-1234567890ab").unwrap().len(), 36);
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_id(&format!("awskms://{arn}")).unwrap(), arn);
        assert_eq!(key_id(&format!("awskms:///{arn}")).unwrap(), arn);
        for bad in ["awskms://", "kms://alias/x", "awskms://alias/x?region=eu-west-1"] {
            assert!(key_id(bad).is_err(), "{bad}");
        }
    }
}
