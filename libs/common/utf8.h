// UTF-8 encoding of one code point, for the JSON readers that decode \u
// escapes.
#pragma once

#include <cstdint>
#include <string>

namespace agentwatch::common {

// Appends the UTF-8 encoding of `code` (at most 0x10FFFF; surrogates are the
// caller's to pair or refuse) to `out`: 1 to 4 bytes.
void AppendUtf8(uint32_t code, std::string* out);

}  // namespace agentwatch::common
