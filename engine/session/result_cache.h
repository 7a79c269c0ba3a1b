#pragma once
// Small LRU of finished runs keyed by plan hash, so toggling back to a configuration is instant.
#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "backend/backend.h"

namespace attnscope {

class ResultCache {
public:
    explicit ResultCache(std::size_t capacity) : capacity_(capacity) {}
    std::shared_ptr<const RunOutput> find(const std::string& planHash);
    // The most recent entry whose context hash matches (for query-only reruns), or null.
    std::shared_ptr<const RunOutput> findContext(const std::string& contextHash) const;
    void put(const std::string& planHash, const std::string& contextHash, std::shared_ptr<const RunOutput> run);
    void clear() { entries_.clear(); }
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string hash, contextHash;
        std::shared_ptr<const RunOutput> run;
    };
    std::size_t capacity_;
    std::list<Entry> entries_;  // most recent first
};

}  // namespace attnscope
