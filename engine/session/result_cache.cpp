#include "session/result_cache.h"

namespace attnscope {

std::shared_ptr<const RunOutput> ResultCache::find(const std::string& planHash) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->hash == planHash) {
            entries_.splice(entries_.begin(), entries_, it);
            return entries_.front().run;
        }
    return nullptr;
}

std::shared_ptr<const RunOutput> ResultCache::findContext(const std::string& contextHash) const {
    for (const auto& e : entries_)
        if (e.contextHash == contextHash && e.run->kept) return e.run;
    return nullptr;
}

void ResultCache::put(const std::string& planHash, const std::string& contextHash,
                      std::shared_ptr<const RunOutput> run) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->hash == planHash) {
            entries_.erase(it);
            break;
        }
    entries_.push_front({planHash, contextHash, std::move(run)});
    while (entries_.size() > capacity_) entries_.pop_back();
}

}  // namespace attnscope
