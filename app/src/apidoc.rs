//! The OpenAPI document's finishing, in one place: what a generated client and a reader
//! of `/docs` need beyond what each handler declares. The errors the shared layers add
//! to every operation, the integration guide as the document's description, a
//! description for every tag, the error codes of every error response, links from
//! created resources to the operations on them, and upload bodies and served files as
//! binary.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{OpenApi, Ref, RefOr, Schema};

/// The guide to the API, shown at the top of `/docs`.
const GUIDE: &str = include_str!("../../docs/api-guide.md");

/// Each tag and what its operations are about.
const TAGS: [(&str, &str); 9] = [
    (
        "auth",
        "Built-in sign-in: sign-up, log-in, token refresh and sign-out, and the issuer's public keys.",
    ),
    (
        "users",
        "My profile and onboarding (handle, terms), my sessions, invites, and user search.",
    ),
    ("social", "Profiles, follows, blocks and reports."),
    (
        "admin",
        "Moderation: reports and suspensions, for administrators only.",
    ),
    ("posts", "The home feed, posts, comments and reactions."),
    ("notifications", "The in-app inbox and push devices."),
    (
        "media",
        "Uploads of photos and videos, their processing, and the files served.",
    ),
    (
        "scoops",
        "Stories that vanish after 24 hours, and who saw them.",
    ),
    ("system", "Health, readiness and this document."),
];

/// What an error status means, and the codes it can carry, for error responses a
/// handler declared without saying (or without naming codes).
fn error_description(status: &str) -> Option<(&'static str, &'static str)> {
    Some(match status {
        "400" => (
            "Invalid input",
            "`validation_failed` (with `field`), `invalid_json`, `invalid_body`, `invalid_path`",
        ),
        "401" => (
            "Not signed in",
            "`missing_token`, `invalid_token`, `token_expired`, `account_deleted`",
        ),
        "403" => (
            "Not allowed",
            "`forbidden`, `account_suspended` (read-only account), `invite_required`, `onboarding_required`, `admin_only`",
        ),
        "404" => ("No such resource, or hidden from the caller", "`not_found`"),
        "413" => ("The body is larger than the limit", "`payload_too_large`"),
        "415" => (
            "The body is not `application/json`",
            "`unsupported_media_type`",
        ),
        "429" => ("Over a rate limit", "`rate_limited`, with `Retry-After`"),
        "503" => (
            "Over the time budget, or a dependency is unavailable",
            "`unavailable`, with `Retry-After`",
        ),
        "507" => (
            "Out of storage space, nothing stored",
            "`insufficient_storage`, with `Retry-After`",
        ),
        _ => return None,
    })
}

fn success_description(status: &str) -> &'static str {
    match status {
        "201" => "Created",
        "204" => "Done; no body",
        _ => "Success",
    }
}

/// How a created resource feeds the operations on it (OpenAPI links): the client, and
/// schemathesis' stateful phase, follow them with real ids instead of guessing.
/// `(path, method, status, [(link, operationId, [(parameter, value)])])`.
type Links = [(
    &'static str,
    &'static str,
    &'static str,
    &'static [(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    )],
)];

const LINKS: &Links = &[
    (
        "/posts",
        "post",
        "201",
        &[
            ("GetPost", "get_post", &[("id", "$response.body#/id")]),
            ("DeletePost", "delete_post", &[("id", "$response.body#/id")]),
            (
                "ListComments",
                "list_comments",
                &[("postId", "$response.body#/id")],
            ),
            (
                "AddComment",
                "add_comment",
                &[("postId", "$response.body#/id")],
            ),
            (
                "ListReactions",
                "list_reactions",
                &[("postId", "$response.body#/id")],
            ),
            (
                "ToggleReaction",
                "toggle_reaction",
                &[("postId", "$response.body#/id")],
            ),
            (
                "Like",
                "add_reaction",
                &[("postId", "$response.body#/id"), ("type", "like")],
            ),
            (
                "Unlike",
                "remove_reaction",
                &[("postId", "$response.body#/id"), ("type", "like")],
            ),
        ],
    ),
    (
        "/comments/{postId}",
        "post",
        "201",
        &[(
            "DeleteComment",
            "delete_comment",
            &[
                ("postId", "$request.path.postId"),
                ("commentId", "$response.body#/id"),
            ],
        )],
    ),
    (
        "/upload-url",
        "post",
        "200",
        &[
            ("MediaStatus", "status", &[("key", "$response.body#/key")]),
            (
                "DeleteMedia",
                "delete_media",
                &[("key", "$response.body#/key")],
            ),
        ],
    ),
    (
        "/scoops",
        "post",
        "201",
        &[
            ("GetScoop", "get", &[("id", "$response.body#/id")]),
            ("ViewScoop", "view", &[("id", "$response.body#/id")]),
            ("Viewers", "viewers", &[("id", "$response.body#/id")]),
            (
                "DeleteScoop",
                "delete_scoop",
                &[("id", "$response.body#/id")],
            ),
        ],
    ),
];

fn add_links(doc: &mut OpenApi) {
    for (path, method, status, links) in LINKS {
        let Some(item) = doc.paths.paths.get_mut(*path) else {
            continue;
        };
        let op = match *method {
            "post" => item.post.as_mut(),
            "put" => item.put.as_mut(),
            _ => item.get.as_mut(),
        };
        let Some(RefOr::T(response)) = op.and_then(|op| op.responses.responses.get_mut(*status))
        else {
            continue;
        };
        for (name, target, parameters) in *links {
            let link = parameters
                .iter()
                .fold(LinkBuilder::new().operation_id(*target), |b, (p, v)| {
                    b.parameter(*p, *v)
                })
                .build();
            response.links.insert((*name).to_owned(), RefOr::T(link));
        }
    }
}

/// Adds to every operation the error responses that come from the shared layers rather
/// than from its handler, so the document lists every status a client can see: 400, 413
/// and 415 from the JSON body extractor, 400 from query and path extractors, 401 from
/// the identity extractor, 404 for a path naming a missing resource, 429 from the rate
/// limit on service routes, 503 from the request timeout and an unavailable store, and
/// 507 on writes when the disk is full. Each is an `ErrorEnvelope`.
fn document_shared_errors(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        // (operation, whether it writes)
        let ops = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ];
        for (op, writes) in ops {
            let Some(op) = op else { continue };
            let mut add = |status: &str, why: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| envelope_response(why));
            };
            if op.request_body.is_some() {
                add(
                    "400",
                    "The body is not a JSON object of the documented shape",
                );
                add("413", "The body is larger than the limit");
                add("415", "The body is not `application/json`");
            }
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add("400", "A parameter is malformed");
            }
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add("401", "Missing, malformed or expired bearer token");
            }
            if path.contains('{') {
                add("404", "No such resource");
            }
            let is_system = op
                .tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "system"));
            if !is_system {
                add("429", "Over the rate limit; see `Retry-After`");
            }
            add(
                "503",
                "Over the request's time budget, or the store is unavailable",
            );
            if writes {
                add(
                    "507",
                    "Out of storage space: nothing was stored; retry after `Retry-After`",
                );
            }
        }
    }
}

fn envelope_response(description: &str) -> RefOr<DocResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build(),
    )
}

/// Whether a body of this type is a file's bytes rather than JSON.
fn is_file_type(content_type: &str) -> bool {
    content_type == "application/octet-stream"
        || content_type.starts_with("image/")
        || content_type.starts_with("video/")
}

/// A file's bytes (what `Vec<u8>` would otherwise document as an array of integers).
fn binary_schema() -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build(),
    ))
}

/// Finishes the document (see the module header).
pub fn finish(doc: &mut OpenApi) {
    document_shared_errors(doc);
    add_links(doc);
    doc.info.description = Some(GUIDE.to_owned());
    doc.tags = Some(
        TAGS.iter()
            .map(|(name, about)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*about))
                    .build()
            })
            .collect(),
    );
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in &mut op.responses.responses {
                let RefOr::T(response) = response else {
                    continue;
                };
                for (content_type, content) in &mut response.content {
                    if is_file_type(content_type)
                        && let RefOr::T(content) = content
                    {
                        content.schema = Some(binary_schema());
                    }
                }
                match error_description(status) {
                    Some((meaning, codes)) if response.description.is_empty() => {
                        response.description = format!("{meaning}: {codes}");
                    }
                    // A handler's own words without codes: the codes are added.
                    Some((_, codes)) if !response.description.contains('`') => {
                        response.description = format!("{}: {codes}", response.description);
                    }
                    Some(_) => {}
                    None if response.description.is_empty() => {
                        response.description = success_description(status).to_owned();
                    }
                    None => {}
                }
            }
            if let Some(RefOr::T(body)) = op.request_body.as_mut() {
                for (content_type, content) in &mut body.content {
                    if is_file_type(content_type)
                        && let RefOr::T(content) = content
                    {
                        content.schema = Some(binary_schema());
                    }
                }
            }
        }
    }
}
