//! Content negotiation: which of the representations a client's `Accept` header asks for
//! (plain JSON, a `meta.k8s.io` Table, PartialObjectMetadata, aggregated discovery).

/// The representation chosen for a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    /// `meta.k8s.io/{version}` Table.
    Table(&'static str),
    /// `meta.k8s.io/{version}` PartialObjectMetadata(List).
    Metadata(&'static str),
    /// `apidiscovery.k8s.io/{version}` APIGroupDiscoveryList.
    Discovery(&'static str),
}

impl Output {
    /// The `Content-Type` answered, echoing the media type parameters the client asked for.
    pub fn content_type(self, list: bool) -> String {
        match self {
            Output::Json => "application/json".to_string(),
            Output::Table(v) => format!("application/json;as=Table;v={v};g=meta.k8s.io"),
            Output::Metadata(v) => {
                let kind = if list {
                    "PartialObjectMetadataList"
                } else {
                    "PartialObjectMetadata"
                };
                format!("application/json;as={kind};v={v};g=meta.k8s.io")
            }
            Output::Discovery(v) => {
                format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList")
            }
        }
    }
}

/// Picks the first representation of `accept` the server offers, in the client's order
/// (clients list the one they prefer first and end with plain JSON).
pub fn negotiate(accept: &str) -> Output {
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if media != "application/json" && media != "*/*" && media != "application/*" {
            continue;
        }
        let mut params = (None, None, None);
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim() {
                    "as" => params.0 = Some(v),
                    "g" => params.1 = Some(v),
                    "v" => params.2 = Some(v),
                    _ => {}
                }
            }
        }
        let version = |v: Option<&str>, known: &[&'static str]| -> Option<&'static str> {
            known.iter().copied().find(|k| Some(*k) == v)
        };
        match params {
            (None, _, _) => return Output::Json,
            (Some("Table"), Some("meta.k8s.io"), v) => {
                if let Some(v) = version(v, &["v1", "v1beta1"]) {
                    return Output::Table(v);
                }
            }
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                v,
            ) => {
                if let Some(v) = version(v, &["v1", "v1beta1"]) {
                    return Output::Metadata(v);
                }
            }
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), v) => {
                if let Some(v) = version(v, &["v2", "v2beta1"]) {
                    return Output::Discovery(v);
                }
            }
            _ => {}
        }
    }
    Output::Json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_offered() {
        assert_eq!(
            negotiate(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ),
            Output::Table("v1")
        );
        assert_eq!(
            negotiate(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            ),
            Output::Discovery("v2beta1")
        );
        assert_eq!(
            negotiate(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json"
            ),
            Output::Json
        );
        assert_eq!(
            negotiate("application/vnd.kubernetes.protobuf, */*"),
            Output::Json
        );
        assert_eq!(negotiate(""), Output::Json);
    }
}
