//! `random:index:Id`: the provider ID is the bytes in base64url, so an
//! existing ID can be imported and Read can rebuild every output from it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};
use cairn_random::{IdArgs, IdOutputs};
use rand::RngCore;

fn outputs(bytes: &[u8], prefix: Option<&str>) -> Result<Value, ProviderError> {
    let prefix = prefix.unwrap_or_default();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = URL_SAFE_NO_PAD.encode(bytes);
    cairn_provider_sdk::to_value(&IdOutputs { hex: format!("{prefix}{hex}"), b64_url: format!("{prefix}{b64}") })
}

pub(crate) async fn create(_: &(), req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: IdArgs = cairn_provider_sdk::args(&req.inputs)?;
    let mut bytes = vec![0u8; args.byte_length as usize];
    rand::rng().fill_bytes(&mut bytes);
    Ok(CreateResponse { id: URL_SAFE_NO_PAD.encode(&bytes), outputs: outputs(&bytes, args.prefix.as_deref())? })
}

pub(crate) async fn read(_: &(), req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = req.id.clone() else { return Ok(None) };
    let bytes = URL_SAFE_NO_PAD.decode(&id).map_err(|e| {
        ProviderError::invalid(format!("{}: `{id}` is not a random ID (unpadded base64url expected): {e}", req.urn))
    })?;
    let mut args: IdArgs = cairn_provider_sdk::recorded(&req.inputs).unwrap_or_else(|| IdArgs::builder().build());
    args.byte_length = bytes.len() as u32;
    let inputs = cairn_provider_sdk::live_inputs(&args, &req.inputs)?;
    Ok(Some(ReadResponse { id, inputs, outputs: outputs(&bytes, args.prefix.as_deref())? }))
}

pub(crate) async fn update(_: &(), req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    Err(crate::no_update(&req))
}

pub(crate) async fn delete(_: &(), _req: DeleteRequest) -> Result<(), ProviderError> {
    Ok(())
}
