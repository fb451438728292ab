// The chunked transfer coding, decoded byte by byte (see HttpWire.h): nothing is left for the
// next call, so every limit holds however the bytes were split.
#include "HttpWire.h"

#include <algorithm>

#include "ordersystem/sdk/text.h"

namespace ordersystem::host::wire {

namespace {
/// Beyond every body limit this server accepts; keeps the size far from overflowing.
constexpr size_t kMaxSizeDigits = 15;
}  // namespace

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view input, size_t& consumed, std::string& body,
                                            int64_t maxBody) {
    while (consumed < input.size() && _state != State::Done) {
        if (_state == State::Data) {
            const size_t take = static_cast<size_t>(std::min<uint64_t>(_size, input.size() - consumed));
            body.append(input.data() + consumed, take);
            consumed += take;
            _size -= take;
            if (_size == 0) _state = State::DataCr;
            continue;
        }
        const char c = input[consumed++];
        switch (_state) {
        case State::Size: {
            const int digit = sdk::hexDigitValue(c);
            if (digit >= 0) {
                if (++_digits > kMaxSizeDigits) return bad("chunk size too large");
                _size = _size * 16 + static_cast<uint64_t>(digit);
                ++_lineBytes;
                break;
            }
            if (_digits == 0) return bad("malformed chunk size");
            if (c == '\r') _state = State::SizeLf;
            else if (c == ';' || c == ' ' || c == '\t') {
                _state = State::Extension;
                ++_lineBytes;
            } else return bad("malformed chunk size");
            break;
        }
        case State::Extension:
            // Extensions are ignored, but only printable bytes and within the line limit.
            if (c == '\r') _state = State::SizeLf;
            else if (!isFieldValueChar(c)) return bad("control character in a chunk extension");
            else if (++_lineBytes > kMaxChunkLineBytes) return bad("chunk size line too long");
            break;
        case State::SizeLf:
            if (c != '\n') return bad("chunk size line must end in CRLF");
            _lineBytes = 0;
            _digits = 0;
            if (_size == 0) {
                _state = State::TrailerStart;
            } else if (static_cast<uint64_t>(body.size()) + _size >
                       static_cast<uint64_t>(std::max<int64_t>(maxBody, 0))) {
                return Result::TooLarge;
            } else {
                _state = State::Data;
            }
            break;
        case State::DataCr:
            if (c != '\r') return bad("chunk data must be followed by CRLF");
            _state = State::DataLf;
            break;
        case State::DataLf:
            if (c != '\n') return bad("chunk data must be followed by CRLF");
            _state = State::Size;
            _size = 0;
            break;
        case State::TrailerStart:
            if (c == '\r') {
                _state = State::LastLf;
                break;
            }
            if (!isTokenChar(c)) return bad("malformed trailer field");
            if (++_trailerFields > kMaxTrailerFields) return bad("too many trailer fields");
            _state = State::TrailerName;
            ++_trailerBytes;
            break;
        case State::TrailerName:
            if (++_trailerBytes > kMaxTrailerBytes) return bad("trailer fields too large");
            if (c == ':') _state = State::TrailerValue;
            else if (!isTokenChar(c)) return bad("malformed trailer field");
            break;
        case State::TrailerValue:
            if (++_trailerBytes > kMaxTrailerBytes) return bad("trailer fields too large");
            if (c == '\r') _state = State::TrailerLf;
            else if (!isFieldValueChar(c)) return bad("control character in a trailer field");
            break;
        case State::TrailerLf:
            if (c != '\n') return bad("trailer field must end in CRLF");
            _state = State::TrailerStart;
            break;
        case State::LastLf:
            if (c != '\n') return bad("chunked body must end in CRLF");
            _state = State::Done;
            break;
        case State::Data:
        case State::Done: break;
        }
    }
    return _state == State::Done ? Result::Done : Result::NeedMore;
}

}  // namespace ordersystem::host::wire
