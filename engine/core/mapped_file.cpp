#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace attnscope {

Result<std::shared_ptr<const MappedFile>> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError(ErrorKind::Io, std::string("cannot open: ") + std::strerror(errno), path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return makeError(ErrorKind::Io, std::string("cannot stat: ") + std::strerror(e), path);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return makeError(ErrorKind::Io, "not a regular file", path);
    }
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = path;
    f->size_ = static_cast<std::uint64_t>(st.st_size);
    if (f->size_ > 0) {
        void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            return makeError(ErrorKind::Io, std::string("cannot memory-map: ") + std::strerror(e), path);
        }
        f->data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);
    return std::shared_ptr<const MappedFile>(std::move(f));
}

std::shared_ptr<const MappedFile> MappedFile::fromBytes(std::string path, std::vector<std::uint8_t> bytes) {
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = std::move(path);
    f->owned_ = std::move(bytes);
    f->size_ = f->owned_.size();
    f->data_ = f->owned_.empty() ? nullptr : f->owned_.data();
    return f;
}

MappedFile::~MappedFile() {
    if (data_ && owned_.empty()) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

Result<std::span<const std::uint8_t>> MappedFile::span(std::uint64_t offset, std::uint64_t len) const {
    if (offset > size_ || len > size_ - offset)
        return makeError(ErrorKind::Format,
                         "range of " + std::to_string(len) + " bytes runs past the end of the file (" +
                             std::to_string(size_) + " bytes)",
                         path_, offset);
    return std::span<const std::uint8_t>(data_ + offset, static_cast<std::size_t>(len));
}

}  // namespace attnscope
