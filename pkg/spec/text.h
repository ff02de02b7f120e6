// Text helpers for the spec loader: UTF-8, quoting for messages, "did you mean" suggestions and
// the name formats Kubernetes uses. Internal to pkg/spec.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aura::spec::detail {

// Length in bytes of the valid UTF-8 sequence starting at text[i], or 0 when the bytes there are
// not valid UTF-8 (overlong forms, surrogates and code points above U+10FFFF are invalid).
// REQUIRES: i < text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// Decodes the valid sequence at text[i] (see Utf8SequenceLength). REQUIRES: it is valid.
char32_t DecodeUtf8(std::string_view text, std::size_t i);

bool IsValidUtf8(std::string_view text);

// Number of code points; invalid bytes count one each.
std::size_t Utf8Length(std::string_view text);

// True for characters YAML does not allow in a stream: C0 controls other than tab, LF and CR,
// DEL, C1 controls other than NEL, and U+FFFE/U+FFFF.
bool IsForbiddenCodePoint(char32_t c);

// True when `text` is valid UTF-8 without control characters (tab, CR and LF included).
bool IsPrintableText(std::string_view text);

// `"text"` with quotes, backslashes and non-printable bytes escaped, cut after `max_chars`
// code points ("..." marks the cut), safe to print whatever the input held.
std::string Quote(std::string_view text, std::size_t max_chars = 64);

// Optimal-string-alignment edit distance, case-insensitive for ASCII. Strings longer than 256
// bytes are compared as if 1000 edits apart (suggestions are for typos, not for essays).
int EditDistance(std::string_view a, std::string_view b);

// The closest of `allowed` to `found`: one that differs only in ASCII case, spaces, '-' or '_',
// or else the nearest within `max_distance` edits (ties: the first in `allowed`). Nothing when
// none is close enough, `found` is one of `allowed`, or `found` is longer than 64 bytes.
std::optional<std::string> Suggest(std::string_view found, const std::vector<std::string>& allowed,
                                   int max_distance);

// "a, b, c".
std::string Join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Kubernetes DNS-1123 label: 1..63 of [a-z0-9-], starting and ending with [a-z0-9].
bool IsDns1123Label(std::string_view s);
// Kubernetes DNS-1123 subdomain: 1..253, dot-separated labels.
bool IsDns1123Subdomain(std::string_view s);
// Kubernetes label or annotation key: [prefix/]name, name 1..63 of [A-Za-z0-9-_.] starting and
// ending alphanumeric, prefix a DNS-1123 subdomain.
bool IsQualifiedName(std::string_view s);
// Kubernetes label value: empty, or 1..63 of [A-Za-z0-9-_.] starting and ending alphanumeric.
bool IsLabelValue(std::string_view s);

}  // namespace aura::spec::detail
