// The JSON configuration file loader. See adjustments_json.hpp. This is the only file of
// the project that includes nlohmann/json.
//
// Owner: the config layer. Any thread may call these functions; they share no state.
#include "config/adjustments_json.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace waitron::config {
namespace {

using Json = nlohmann::ordered_json;

// The reserved top-level key naming the WSGI application (used by the runner).
constexpr std::string_view kAppKey = "app";

// RFC 6901: "~" is written "~0" and "/" is written "~1" inside a reference token.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// A JSON value's type with its article, as used in "must be X, not Y".
std::string describe_type(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    default:
      return "a number";
  }
}

std::string_view expected_type(JsonShape shape) {
  switch (shape) {
    case JsonShape::integer:
      return "an integer";
    case JsonShape::boolean:
      return "a boolean";
    case JsonShape::string:
      return "a string";
    case JsonShape::string_or_string_list:
      return "a string or an array of strings";
    case JsonShape::string_or_integer:
      return "a string or an integer";
    case JsonShape::integer_list:
      return "an array of integers";
  }
  return "";
}

// Converts the value of one top-level key of `file`, found at `pointer`, into a Value of
// the JSON shape its option requires.
class KeyReader {
 public:
  KeyReader(const std::string& file, std::string key, std::string pointer)
      : key_(std::move(key)),
        pointer_(std::move(pointer)),
        label_(file + ": option \"" + key_ + "\"") {}

  // "config.json: option \"threads\" at /threads", the origin of the key's NamedValue.
  std::string origin() const { return label_ + " at " + pointer_; }

  [[noreturn]] void fail_type(std::string_view expected, const Json& value,
                              const std::string& pointer) const {
    throw AdjustmentsError(key_, label_ + " at " + pointer + " must be " + std::string(expected) +
                                     ", not " + describe_type(value));
  }

  std::int64_t integer(const Json& value, const std::string& pointer) const {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw AdjustmentsError(key_, label_ + " at " + pointer + " is too large: " + value.dump());
    }
    if (!value.is_number_integer()) fail_type("an integer", value, pointer);
    return value.get<std::int64_t>();
  }

  Value read(JsonShape shape, const Json& value) const {
    switch (shape) {
      case JsonShape::integer:
        return integer(value, pointer_);
      case JsonShape::boolean:
        if (!value.is_boolean()) fail_type(expected_type(shape), value, pointer_);
        return value.get<bool>();
      case JsonShape::string:
        if (!value.is_string()) fail_type(expected_type(shape), value, pointer_);
        return value.get<std::string>();
      case JsonShape::string_or_integer:
        if (value.is_string()) return value.get<std::string>();
        if (!value.is_number_integer()) fail_type(expected_type(shape), value, pointer_);
        return integer(value, pointer_);
      case JsonShape::string_or_string_list:
        return string_list(value);
      case JsonShape::integer_list:
        return integer_list(value);
    }
    return {};
  }

 private:
  Value string_list(const Json& value) const {
    if (value.is_string()) return value.get<std::string>();
    if (!value.is_array()) {
      fail_type(expected_type(JsonShape::string_or_string_list), value, pointer_);
    }
    StringList items;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string pointer = pointer_ + "/" + std::to_string(i);
      if (!value[i].is_string()) fail_type("a string", value[i], pointer);
      items.push_back(value[i].get<std::string>());
    }
    return items;
  }

  Value integer_list(const Json& value) const {
    if (!value.is_array()) fail_type(expected_type(JsonShape::integer_list), value, pointer_);
    IntList items;
    for (std::size_t i = 0; i < value.size(); ++i) {
      items.push_back(integer(value[i], pointer_ + "/" + std::to_string(i)));
    }
    return items;
  }

  std::string key_;
  std::string pointer_;
  std::string label_;
};

// The key, checked for being known; unknown keys are an error with a suggestion.
const OptionInfo* known_option(const std::string& file, const std::string& key,
                               const std::string& pointer) {
  if (const OptionInfo* option = find_option(key)) return option;
  std::string message = file + ": unknown option \"" + key + "\" at " + pointer;
  if (const auto suggestion = closest_known_key(key)) {
    message += "; did you mean \"" + *suggestion + "\"?";
  }
  throw AdjustmentsError(key, message);
}

Json parse(std::string_view text, const std::string& file) {
  // nlohmann keeps the last of duplicate keys without a word; a config file with the same
  // key twice is more likely a mistake, so the callback refuses it.
  std::set<std::string, std::less<>> seen;
  const auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) {
        throw AdjustmentsError(
            key, file + ": duplicate option \"" + key + "\" at /" + pointer_token(key));
      }
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), on_event);
  } catch (const Json::exception& e) {
    // A syntax error is a parse_error, a number beyond a double (1e400) an out_of_range
    // (found by fuzz_adjustments_json). nlohmann's message is "[json.exception.parse_error.101]
    // parse error at line 3, column 8: ..."; keep what follows the bracketed id.
    std::string message = e.what();
    if (const auto end_of_id = message.find("] "); end_of_id != std::string::npos) {
      message.erase(0, end_of_id + 2);
    }
    throw AdjustmentsError("", file + ": " + message);
  }
}

// Optimal string alignment distance: Levenshtein plus transposition of adjacent characters.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> closest_known_key(std::string_view key) {
  std::optional<std::string> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  const auto consider = [&](std::string_view candidate) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(candidate);
    }
  };
  for (const OptionInfo& option : options()) consider(option.name);
  consider(kAppKey);
  const std::size_t allowed = std::max<std::size_t>(2, key.size() / 3);
  if (!best || best_distance > allowed || best_distance >= key.size()) return std::nullopt;
  return best;
}

JsonConfig load_json_text(std::string_view text, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  const Json document = parse(text, file);
  if (!document.is_object()) {
    throw AdjustmentsError(
        "", file + ": the top level must be an object of options, not " + describe_type(document));
  }
  JsonConfig config;
  for (const auto& [key, value] : document.items()) {
    const std::string pointer = "/" + pointer_token(key);
    const KeyReader reader(file, key, pointer);
    if (key == kAppKey) {
      if (!value.is_string()) reader.fail_type("a string", value, pointer);
      config.app = value.get<std::string>();
      continue;
    }
    const OptionInfo* option = known_option(file, key, pointer);
    config.values.push_back(
        NamedValue{key, reader.read(option->json_shape, value), reader.origin()});
  }
  return config;
}

JsonConfig load_json_file(const std::string& path) {
  const auto fail_read = [&](int error) -> JsonConfig {
    throw AdjustmentsError("", path + ": cannot read the file: " +
                                   std::error_code(error, std::generic_category()).message());
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) return fail_read(errno);
  std::string text;
  char block[8192];
  std::size_t got = 0;
  while ((got = std::fread(block, 1, sizeof block, file.get())) > 0) text.append(block, got);
  if (std::ferror(file.get())) return fail_read(errno);
  return load_json_text(text, path);
}

}  // namespace waitron::config
