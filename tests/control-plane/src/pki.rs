//! The control plane's own PKI, generated at every start: a CA, the API server's serving
//! certificate, client certificates for an admin (`system:masters`) and for a user without any
//! group, and the service-account token signing key.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::Error;

/// Common name of the admin client certificate (in group `system:masters`).
pub const ADMIN_USER: &str = "bluegreen-admin";
/// Common name of the non-admin client certificate (no group: RBAC grants it nothing).
pub const DEVELOPER_USER: &str = "developer";

/// A certificate and its key, PEM-encoded, and where they were written.
pub(crate) struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

pub(crate) struct Pki {
    pub ca: Pair,
    pub apiserver: Pair,
    pub admin: Pair,
    pub developer: Pair,
    /// The service-account token signing key (PKCS#8 PEM) and its public key (PEM).
    pub service_account_key_file: PathBuf,
    pub service_account_pub_file: PathBuf,
}

fn err(e: rcgen::Error) -> Error {
    Error::Pki(e.to_string())
}

fn name(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    dn
}

fn write(dir: &Path, stem: &str, cert_pem: String, key_pem: String) -> Result<Pair, Error> {
    let cert_file = dir.join(format!("{stem}.crt"));
    let key_file = dir.join(format!("{stem}.key"));
    crate::write_private(&cert_file, &cert_pem)?;
    crate::write_private(&key_file, &key_pem)?;
    Ok(Pair {
        cert_pem,
        key_pem,
        cert_file,
        key_file,
    })
}

fn client(
    dir: &Path,
    stem: &str,
    issuer: &Issuer<'_, KeyPair>,
    cn: &str,
    org: Option<&str>,
) -> Result<Pair, Error> {
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.distinguished_name = name(cn, org);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).map_err(err)?;
    write(dir, stem, cert.pem(), key.serialize_pem())
}

/// Generates every certificate and key into `dir`.
pub(crate) fn generate(dir: &Path, service_ip: &str) -> Result<Pki, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;

    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.distinguished_name = name("bluegreen-control-plane-ca", None);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let ca = write(dir, "ca", ca_cert.pem(), ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(err)?;
    let sans = [
        "127.0.0.1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        service_ip,
    ];
    let mut server_params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(err)?;
    server_params.distinguished_name = name("kube-apiserver", None);
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(err)?;
    let apiserver = write(
        dir,
        "apiserver",
        server_cert.pem(),
        server_key.serialize_pem(),
    )?;

    let admin = client(dir, "admin", &issuer, ADMIN_USER, Some("system:masters"))?;
    let developer = client(dir, "developer", &issuer, DEVELOPER_USER, None)?;

    let sa_key = KeyPair::generate().map_err(err)?;
    let service_account_key_file = dir.join("service-account.key");
    crate::write_private(&service_account_key_file, &sa_key.serialize_pem())?;
    let service_account_pub_file = dir.join("service-account.pub");
    crate::write_private(&service_account_pub_file, &sa_key.public_key_pem())?;

    Ok(Pki {
        ca,
        apiserver,
        admin,
        developer,
        service_account_key_file,
        service_account_pub_file,
    })
}

/// The CA's issuer from its key, with the same subject as [`generate`] gives the CA, so that
/// certificates it signs chain to the CA certificate written then.
fn ca_issuer(ca_key_pem: &str) -> Result<Issuer<'static, KeyPair>, Error> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name = name("bluegreen-control-plane-ca", None);
    Ok(Issuer::new(ca_params, ca_key))
}

/// A loopback serving certificate (`127.0.0.1`, `localhost`) signed by the control plane's CA
/// (whose key is `ca_key_pem`): certificate and key, PEM.
pub(crate) fn loopback_serving_cert(ca_key_pem: &str, cn: &str) -> Result<(String, String), Error> {
    let issuer = ca_issuer(ca_key_pem)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()]).map_err(err)?;
    params.distinguished_name = name(cn, None);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    Ok((cert.pem(), key.serialize_pem()))
}
