#include "pgconn/snapshot.h"

#include <stdexcept>

namespace pgconn {

LazyText::LazyText(std::string text) : state_(std::make_shared<State>()) {
  state_->text = std::move(text);
  std::call_once(state_->once, [] {});
}

LazyText::LazyText(std::function<std::string()> join) : state_(std::make_shared<State>()) {
  state_->join = std::move(join);
}

const std::string& LazyText::Get() const {
  std::call_once(state_->once, [this] {
    state_->text = state_->join();
    state_->join = nullptr;  // drops the parts it held
  });
  return state_->text;
}

void ProbeTexts::Add(const std::string& name, std::function<std::string()> stitch) {
  stitch_[name] = std::move(stitch);
}

void ProbeTexts::Set(const std::string& name, std::string text) {
  stitch_[name] = [text = std::move(text)] { return text; };
}

std::optional<std::string> ProbeTexts::Find(const std::string& name) const {
  const auto found = stitch_.find(name);
  if (found == stitch_.end()) return std::nullopt;
  return found->second();
}

std::string ProbeTexts::at(const std::string& name) const {
  auto text = Find(name);
  if (!text) throw std::out_of_range("no /probe text for target " + name);
  return std::move(*text);
}

}  // namespace pgconn
