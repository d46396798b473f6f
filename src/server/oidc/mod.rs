//! The company's OpenID Connect provider, as a relying party sees it: its discovery document and
//! signing keys (cached, and fetched again when a token names a key we have not seen, which is how
//! providers rotate keys), the authorization URL with PKCE S256, state and nonce, and the code
//! exchange (the `oauth2` crate). Which person a verified token stands for is the sign-in
//! service's business, not this module's.

pub mod id_token;

use super::config::OidcConfig;
use id_token::{Expected, IdTokenError, VerifiedClaims};
use jsonwebtoken::jwk::Jwk;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::sync::RwLock;

/// How long discovery and keys are trusted before being fetched again.
const CACHE_FOR: i64 = 3600;
/// An unknown key id triggers a refetch at most this often, so forged ids cannot hammer the
/// provider.
const REFETCH_AFTER: i64 = 30;

/// What can go wrong talking to the provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Unavailable(String),
    #[error("the identity provider's configuration is unusable: {0}")]
    Misconfigured(String),
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    IdToken(#[from] IdTokenError),
}

/// The parts of the discovery document we use.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// The token response with the ID token OpenID Connect adds to OAuth 2.0's.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default)]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

struct Cached<T> {
    value: T,
    fetched_at: i64,
}

/// One configured provider, shared by every request.
pub struct Provider {
    config: OidcConfig,
    redirect_url: String,
    http: reqwest::Client,
    metadata: RwLock<Option<Cached<Metadata>>>,
    keys: RwLock<Option<Cached<Vec<Jwk>>>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Where the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// The PKCE verifier for one sign-in, derived from the secret in that browser's sign-in cookie:
/// it is never stored, and without the cookie nobody can produce it.
pub fn pkce_verifier(login_secret: &str) -> PkceCodeVerifier {
    use base64::Engine;
    let digest = Sha256::digest(format!("gatehouse-pkce:{login_secret}").as_bytes());
    PkceCodeVerifier::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

impl Provider {
    pub fn new(config: OidcConfig, public_origin: &str) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            // Following redirects from the token endpoint would open an SSRF path.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ProviderError::Misconfigured(e.to_string()))?;
        Ok(Self {
            redirect_url: format!("{public_origin}{CALLBACK_PATH}"),
            config,
            http,
            metadata: RwLock::new(None),
            keys: RwLock::new(None),
        })
    }

    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn get_json(&self, url: &str) -> Result<Vec<u8>, ProviderError> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(ProviderError::Unavailable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("{url}: {e}")))?;
        Ok(body.to_vec())
    }

    /// The discovery document, from cache when fresh. Its `issuer` must be exactly ours.
    pub async fn metadata(&self, now: i64) -> Result<Metadata, ProviderError> {
        if let Some(cached) = self.metadata.read().await.as_ref()
            && now - cached.fetched_at < CACHE_FOR
        {
            return Ok(cached.value.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let body = self.get_json(&url).await?;
        let metadata: Metadata = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Unavailable(format!("discovery document: {e}")))?;
        if metadata.issuer != self.config.issuer {
            return Err(ProviderError::Misconfigured(format!(
                "the discovery document names issuer {:?}, not the configured {:?}",
                metadata.issuer, self.config.issuer
            )));
        }
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(ProviderError::Misconfigured(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        *self.metadata.write().await = Some(Cached {
            value: metadata.clone(),
            fetched_at: now,
        });
        Ok(metadata)
    }

    fn client(&self, metadata: &Metadata) -> Result<Client, ProviderError> {
        let bad = |what: &str, e: oauth2::url::ParseError| {
            ProviderError::Misconfigured(format!("{what} is not a URL: {e}"))
        };
        Ok(
            oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
                .set_client_secret(ClientSecret::new(
                    self.config.client_secret.expose().to_owned(),
                ))
                .set_auth_uri(
                    AuthUrl::new(metadata.authorization_endpoint.clone())
                        .map_err(|e| bad("authorization_endpoint", e))?,
                )
                .set_token_uri(
                    TokenUrl::new(metadata.token_endpoint.clone())
                        .map_err(|e| bad("token_endpoint", e))?,
                )
                .set_redirect_uri(
                    RedirectUrl::new(self.redirect_url.clone())
                        .map_err(|e| bad("redirect URL", e))?,
                ),
        )
    }

    /// Where to send the browser: the provider's authorization endpoint with our client, scopes,
    /// `state`, `nonce` and the PKCE S256 challenge.
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        login_secret: &str,
        now: i64,
    ) -> Result<String, ProviderError> {
        let metadata = self.metadata(now).await?;
        let client = self.client(&metadata)?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&pkce_verifier(login_secret));
        let mut request = client
            .authorize_url(|| CsrfToken::new(state.to_owned()))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _) = request.url();
        Ok(url.to_string())
    }

    /// Trades the code for tokens (with the PKCE verifier) and verifies the ID token.
    pub async fn exchange(
        &self,
        code: &str,
        login_secret: &str,
        nonce: &str,
        now: i64,
    ) -> Result<VerifiedClaims, ProviderError> {
        let metadata = self.metadata(now).await?;
        let client = self.client(&metadata)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(pkce_verifier(login_secret))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    ProviderError::CodeRefused(r.error().to_string())
                }
                other => ProviderError::Unavailable(other.to_string()),
            })?;
        let token = response
            .extra_fields()
            .id_token
            .clone()
            .ok_or(ProviderError::NoIdToken)?;
        self.verify_id_token(&token, nonce, now).await
    }

    /// Verifies an ID token against the provider's keys, fetching them again once when the
    /// token names a key we do not have (the provider has rotated its keys).
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
        now: i64,
    ) -> Result<VerifiedClaims, ProviderError> {
        let (_, kid) = id_token::header(token)?;
        let expected = Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
            now,
        };
        let keys = self.keys(now, false).await?;
        if let Some(key) = id_token::select_key(&keys, kid.as_deref()) {
            return Ok(id_token::verify(token, key, &expected)?);
        }
        let keys = self.keys(now, true).await?;
        let key = id_token::select_key(&keys, kid.as_deref())
            .ok_or(IdTokenError::UnknownKey(kid.clone()))?;
        Ok(id_token::verify(token, key, &expected)?)
    }

    async fn keys(&self, now: i64, refresh: bool) -> Result<Vec<Jwk>, ProviderError> {
        if let Some(cached) = self.keys.read().await.as_ref() {
            let age = now - cached.fetched_at;
            if (!refresh && age < CACHE_FOR) || (refresh && age < REFETCH_AFTER) {
                return Ok(cached.value.clone());
            }
        }
        let metadata = self.metadata(now).await?;
        let body = self.get_json(&metadata.jwks_uri).await?;
        let keys = id_token::parse_jwks(&body)
            .map_err(|e| ProviderError::Unavailable(format!("JWKS: {e}")))?;
        *self.keys.write().await = Some(Cached {
            value: keys.clone(),
            fetched_at: now,
        });
        Ok(keys)
    }
}
