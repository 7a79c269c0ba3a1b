#pragma once
// Read-only memory map of a whole file (RAII). Weight files are mapped, never read into RAM,
// so a 7B model "loads" in milliseconds and pages in on demand.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace attnscope {

class MappedFile {
public:
    static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);
    // The same view over bytes held in memory, for parsers fed from a buffer (fuzz tests);
    // `path` only labels errors.
    static std::shared_ptr<const MappedFile> fromBytes(std::string path, std::vector<std::uint8_t> bytes);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return path_; }
    std::uint64_t size() const { return size_; }
    const std::uint8_t* data() const { return data_; }
    // Bytes [offset, offset+len); an error naming the file when the range passes EOF.
    Result<std::span<const std::uint8_t>> span(std::uint64_t offset, std::uint64_t len) const;

private:
    MappedFile() = default;
    std::string path_;
    const std::uint8_t* data_ = nullptr;
    std::uint64_t size_ = 0;
    std::vector<std::uint8_t> owned_;  // fromBytes: the bytes data_ points into (nothing mapped)
};

}  // namespace attnscope
