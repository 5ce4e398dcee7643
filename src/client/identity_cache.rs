//! The identity cache our clients use instead of the SDK's `IdentityCache::lazy()`: a
//! pass-through to the provider's own cache. It holds nothing of its own; it hands the SDK the
//! provider's current credentials as a pre-built `Identity` in a ready future (no boxing, no
//! `Sleep` per request, no lock), so a rotation is seen by the very next request, exactly as
//! with `IdentityCache::no_cache()`, but cheaper than either SDK cache. Any other resolver
//! (another auth scheme, another provider) is passed straight through, uncached.

use aws_smithy_runtime_api::client::identity::{
    IdentityCachePartition, IdentityFuture, ResolveCachedIdentity, ResolveIdentity,
    SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::AssumedRoleCredentials;

#[derive(Debug)]
pub(crate) struct PassThroughCache {
    creds: AssumedRoleCredentials,
    /// The partition of the `SharedCredentialsProvider` wrapping `creds` in this config.
    partition: IdentityCachePartition,
}

impl PassThroughCache {
    pub(crate) fn new(creds: AssumedRoleCredentials, partition: IdentityCachePartition) -> Self {
        PassThroughCache { creds, partition }
    }
}

impl ResolveCachedIdentity for PassThroughCache {
    fn resolve_cached_identity<'a>(
        &'a self,
        resolver: SharedIdentityResolver,
        runtime_components: &'a RuntimeComponents,
        config_bag: &'a ConfigBag,
    ) -> IdentityFuture<'a> {
        if resolver.cache_partition() == self.partition {
            if let Some(identity) = self.creds.cached_identity() {
                return IdentityFuture::ready(Ok(identity));
            }
        }
        IdentityFuture::new(async move {
            resolver
                .resolve_identity(runtime_components, config_bag)
                .await
        })
    }
}
