// A pickle virtual machine that knows only what torch.save writes for a state dict. Python's
// pickle can call any importable function; this one resolves GLOBAL/STACK_GLOBAL against a
// short allow-list and only ever "calls" OrderedDict and the tensor rebuild functions, which it
// implements itself. Everything else is refused before it is used.
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>

#include "bertkit/serialization.h"
#include "io/torch_pickle.h"

namespace bertkit {
namespace io {

namespace {

enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,   // an allow-listed callable or storage type
  kStorage,  // a persistent-id storage reference
  kTensor,
};

enum class Callable {
  kOrderedDict,
  kRebuildTensorV2,
  kRebuildParameter,
  kStorageType,
};

struct Value {
  Kind kind = Kind::kNone;
  std::int64_t i = 0;  // kInt, kBool
  double f = 0;
  std::string s;                    // kString; the global's name for kGlobal
  std::vector<const Value*> items;  // kTuple, kList
  std::vector<std::pair<const Value*, const Value*>> dict;  // kDict, in insertion order
  Callable callable = Callable::kOrderedDict;               // kGlobal
  DType dtype = DType::kF32;                                // kGlobal storage type, kStorage
  std::span<const std::byte> storage;                       // kStorage
  Tensor tensor;                                            // kTensor
};

struct AllowedGlobal {
  std::string_view module;
  std::string_view name;
  Callable callable;
  DType dtype;
};

constexpr AllowedGlobal kAllowed[] = {
    {"collections", "OrderedDict", Callable::kOrderedDict, DType::kF32},
    {"torch._utils", "_rebuild_tensor_v2", Callable::kRebuildTensorV2, DType::kF32},
    {"torch._utils", "_rebuild_parameter", Callable::kRebuildParameter, DType::kF32},
    {"torch", "FloatStorage", Callable::kStorageType, DType::kF32},
    {"torch", "HalfStorage", Callable::kStorageType, DType::kF16},
    {"torch", "BFloat16Storage", Callable::kStorageType, DType::kBF16},
    {"torch", "DoubleStorage", Callable::kStorageType, DType::kF64},
    {"torch", "LongStorage", Callable::kStorageType, DType::kI64},
    {"torch", "IntStorage", Callable::kStorageType, DType::kI32},
    {"torch", "ShortStorage", Callable::kStorageType, DType::kI16},
    {"torch", "CharStorage", Callable::kStorageType, DType::kI8},
    {"torch", "ByteStorage", Callable::kStorageType, DType::kU8},
    {"torch", "BoolStorage", Callable::kStorageType, DType::kBool},
};

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> pickle,
            const std::map<std::string, std::span<const std::byte>>& storages,
            const std::shared_ptr<const void>& owner, const std::string& source)
      : in_(pickle), storages_(storages), owner_(owner), source_(source) {}

  StateDict run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(source_ + ": refusing pickle at byte " + std::to_string(op_pos_) + ": " +
                      what);
  }

  // --- reading the opcode stream ---
  std::span<const std::byte> take(std::uint64_t n) {
    if (n > in_.size() - pos_) fail("truncated (needs " + std::to_string(n) + " more bytes)");
    auto out = in_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::uint64_t uint_le(int width) {
    const auto b = take(static_cast<std::uint64_t>(width));
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(b[i]);
    return v;
  }
  std::string text(std::uint64_t n) {
    const auto b = take(n);
    std::string s(reinterpret_cast<const char*>(b.data()), b.size());
    if (!valid_utf8(s)) fail("a string is not valid UTF-8");
    return s;
  }
  std::string line() {
    std::size_t end = pos_;
    while (end < in_.size() && in_[end] != std::byte{'\n'}) ++end;
    if (end == in_.size()) fail("truncated GLOBAL (no newline)");
    std::string s = text(end - pos_);
    ++pos_;
    return s;
  }

  // --- the value stack ---
  Value* make(Kind kind) {
    arena_.push_back(std::make_unique<Value>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  void push(const Value* v) { stack_.push_back(v); }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  const Value* pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    const Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  const Value* top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<const Value*> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<const Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark),
                                    stack_.end());
    stack_.resize(mark);
    return items;
  }
  // Containers on the stack are only ever mutated through the stack or the memo, both of
  // which hold pointers into arena_, so a const_cast here is on an object we own.
  Value* mutable_container(const Value* v, Kind kind, const char* op) {
    if (v->kind != kind)
      fail(std::string(op) + " on something that is not a " +
           (kind == Kind::kList ? "list" : "dict"));
    return const_cast<Value*>(v);
  }

  void memo_put(std::uint64_t key) { memo_[key] = top(); }
  void memo_get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  // --- the allow-listed callables ---
  void global(const std::string& module, const std::string& name);
  void reduce();
  void persistent_load();
  const Value* rebuild_tensor(const std::vector<const Value*>& args);

  std::int64_t as_int(const Value* v, const char* what) {
    if (v->kind != Kind::kInt) fail(std::string(what) + " is not an integer");
    return v->i;
  }
  std::vector<std::int64_t> int_tuple(const Value* v, const char* what) {
    if (v->kind != Kind::kTuple) fail(std::string(what) + " is not a tuple");
    std::vector<std::int64_t> out;
    for (const Value* item : v->items) out.push_back(as_int(item, what));
    return out;
  }

  std::span<const std::byte> in_;
  const std::map<std::string, std::span<const std::byte>>& storages_;
  const std::shared_ptr<const void>& owner_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;
  std::vector<const Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, const Value*> memo_;
};

void Unpickler::global(const std::string& module, const std::string& name) {
  for (const auto& allowed : kAllowed) {
    if (allowed.module == module && allowed.name == name) {
      Value* v = make(Kind::kGlobal);
      v->s = module + "." + name;
      v->callable = allowed.callable;
      v->dtype = allowed.dtype;
      push(v);
      return;
    }
  }
  fail("refuses global " + module + "." + name +
       " (only the globals a torch state dict needs are allowed; nothing is executed)");
}

void Unpickler::persistent_load() {
  const Value* pid = pop();
  if (pid->kind != Kind::kTuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::kString ||
      pid->items[0]->s != "storage") {
    fail("persistent id is not ('storage', type, key, location, numel)");
  }
  const Value* type = pid->items[1];
  if (type->kind != Kind::kGlobal || type->callable != Callable::kStorageType) {
    fail("persistent id does not name a torch storage type");
  }
  if (pid->items[2]->kind != Kind::kString) fail("storage key is not a string");
  if (pid->items[3]->kind != Kind::kString) fail("storage location is not a string");
  const std::string& key = pid->items[2]->s;
  const std::int64_t numel = as_int(pid->items[4], "storage size");
  const auto it = storages_.find(key);
  if (it == storages_.end()) fail("storage '" + key + "' is not in the archive");
  const std::size_t element = dtype_size(type->dtype);
  if (numel < 0 || static_cast<std::uint64_t>(numel) > it->second.size() / element ||
      static_cast<std::uint64_t>(numel) * element != it->second.size()) {
    fail("storage '" + key + "' holds " + std::to_string(it->second.size()) + " bytes, not " +
         std::to_string(numel) + " " + std::string(dtype_name(type->dtype)) + " elements");
  }
  Value* v = make(Kind::kStorage);
  v->dtype = type->dtype;
  v->s = key;
  v->storage = it->second;
  push(v);
}

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): a strided view of the storage.
const Value* Unpickler::rebuild_tensor(const std::vector<const Value*>& args) {
  if (args.size() != 6 && args.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments");
  const Value* storage = args[0];
  if (storage->kind != Kind::kStorage) fail("_rebuild_tensor_v2 needs a storage");
  const std::int64_t offset = as_int(args[1], "storage offset");
  const auto shape = int_tuple(args[2], "tensor size");
  const auto stride = int_tuple(args[3], "tensor stride");
  if (shape.size() != stride.size()) fail("tensor size and stride have different ranks");
  const auto storage_numel =
      static_cast<std::int64_t>(storage->storage.size() / dtype_size(storage->dtype));
  if (offset < 0 || offset > storage_numel) fail("storage offset is out of range");

  // The furthest element the view reaches must lie in the storage; overflow-checked.
  std::int64_t numel = 1;
  std::int64_t last = offset;
  bool contiguous = true;
  std::int64_t expected_stride = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] < 0 || stride[d] < 0) fail("negative tensor size or stride");
    if (__builtin_mul_overflow(numel, shape[d], &numel)) fail("tensor size overflows");
    if (shape[d] > 1) {
      std::int64_t reach = 0;
      if (__builtin_mul_overflow(shape[d] - 1, stride[d], &reach) ||
          __builtin_add_overflow(last, reach, &last)) {
        fail("tensor stride overflows");
      }
      if (stride[d] != expected_stride) contiguous = false;
    }
    if (__builtin_mul_overflow(expected_stride, std::max<std::int64_t>(shape[d], 1),
                               &expected_stride)) {
      fail("tensor size overflows");
    }
  }
  if (numel > storage_numel) {
    fail("tensor of " + std::to_string(numel) + " elements views storage '" + storage->s +
         "' of only " + std::to_string(storage_numel) + " (expanded views are not supported)");
  }
  if (numel > 0 && last >= storage_numel) {
    fail("tensor of size " + std::to_string(numel) + " reaches element " + std::to_string(last) +
         " of storage '" + storage->s + "' with " + std::to_string(storage_numel) + " elements");
  }

  Value* v = make(Kind::kTensor);
  const std::size_t element = dtype_size(storage->dtype);
  const std::byte* base = storage->storage.data() + static_cast<std::size_t>(offset) * element;
  if (contiguous && owner_ && numel > 0 && reinterpret_cast<std::uintptr_t>(base) % element == 0) {
    v->tensor = Tensor::view(storage->dtype, shape, base, owner_);
    return v;
  }
  v->tensor = Tensor(storage->dtype, shape);
  std::byte* out = v->tensor.mutable_data();
  if (contiguous) {
    if (numel > 0) std::memcpy(out, base, static_cast<std::size_t>(numel) * element);
    return v;
  }
  // Strided (e.g. a saved transpose or expand): gather element by element in row-major order.
  std::vector<std::int64_t> index(shape.size(), 0);
  for (std::int64_t n = 0; n < numel; ++n) {
    std::int64_t at = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) at += index[d] * stride[d];
    std::memcpy(out + static_cast<std::size_t>(n) * element,
                base + static_cast<std::size_t>(at) * element, element);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return v;
}

void Unpickler::reduce() {
  const Value* args = pop();
  const Value* callable = pop();
  if (callable->kind != Kind::kGlobal) fail("REDUCE on something that is not a callable");
  if (args->kind != Kind::kTuple) fail("REDUCE arguments are not a tuple");
  switch (callable->callable) {
    case Callable::kOrderedDict:
      if (!args->items.empty()) fail("OrderedDict is only rebuilt empty");
      push(make(Kind::kDict));
      return;
    case Callable::kRebuildTensorV2:
      push(rebuild_tensor(args->items));
      return;
    case Callable::kRebuildParameter:
      // _rebuild_parameter(data, requires_grad, backward_hooks): the data is the tensor.
      if (args->items.size() != 3 || args->items[0]->kind != Kind::kTensor) {
        fail("_rebuild_parameter needs (tensor, requires_grad, hooks)");
      }
      push(args->items[0]);
      return;
    case Callable::kStorageType:
      break;
  }
  fail("refuses to call " + callable->s);
}

StateDict Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    const auto op = static_cast<std::uint8_t>(take(1)[0]);
    switch (op) {
      case 0x80: {  // PROTO
        const auto version = uint_le(1);
        if (version < 2 || version > 5) fail("pickle protocol " + std::to_string(version));
        break;
      }
      case 0x95:  // FRAME: a length prefix for buffering, nothing to do
        uint_le(8);
        break;
      case '.': {  // STOP
        const Value* result = pop();
        if (result->kind != Kind::kDict) fail("the pickle is not a dict of tensors");
        StateDict out;
        for (const auto& [key, value] : result->dict) {
          if (key->kind != Kind::kString) fail("a state dict key is not a string");
          if (value->kind != Kind::kTensor)
            fail("state dict entry '" + key->s + "' is not a tensor");
          out.insert_or_assign(key->s, value->tensor);
        }
        return out;
      }
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case ')':  // EMPTY_TUPLE
        push(make(Kind::kTuple));
        break;
      case ']':  // EMPTY_LIST
        push(make(Kind::kList));
        break;
      case '}':  // EMPTY_DICT
        push(make(Kind::kDict));
        break;
      case 'N':  // NONE
        push(make(Kind::kNone));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        Value* v = make(Kind::kBool);
        v->i = op == 0x88;
        push(v);
        break;
      }
      case 'K':    // BININT1
      case 'M':    // BININT2
      case 'J': {  // BININT (signed 32-bit)
        Value* v = make(Kind::kInt);
        v->i = op == 'K'   ? static_cast<std::int64_t>(uint_le(1))
               : op == 'M' ? static_cast<std::int64_t>(uint_le(2))
                           : static_cast<std::int32_t>(static_cast<std::uint32_t>(uint_le(4)));
        push(v);
        break;
      }
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const auto n = uint_le(1);
        if (n > 8) fail("integer wider than 64 bits");
        const auto b = take(n);
        std::uint64_t u = 0;
        for (std::size_t i = n; i-- > 0;) u = (u << 8) | static_cast<std::uint8_t>(b[i]);
        if (n > 0 && n < 8 && (static_cast<std::uint8_t>(b[n - 1]) & 0x80)) u |= ~0ULL << (8 * n);
        Value* v = make(Kind::kInt);
        v->i = static_cast<std::int64_t>(u);
        push(v);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const auto b = take(8);
        std::uint64_t u = 0;
        for (std::size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<std::uint8_t>(b[i]);
        Value* v = make(Kind::kFloat);
        std::memcpy(&v->f, &u, 8);
        push(v);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const auto n = uint_le(op == 'X' ? 4 : op == 0x8c ? 1 : 8);
        Value* v = make(Kind::kString);
        v->s = text(n);
        push(v);
        break;
      }
      case 't': {  // TUPLE
        Value* v = make(Kind::kTuple);
        v->items = pop_to_mark();
        push(v);
        break;
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        Value* v = make(Kind::kTuple);
        v->items.resize(op - 0x84u);
        for (std::size_t i = v->items.size(); i-- > 0;) v->items[i] = pop();
        push(v);
        break;
      }
      case 'a': {  // APPEND
        const Value* item = pop();
        mutable_container(top(), Kind::kList, "APPEND")->items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        Value* list = mutable_container(top(), Kind::kList, "APPENDS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        const Value* value = pop();
        const Value* key = pop();
        mutable_container(top(), Kind::kDict, "SETITEM")->dict.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
        Value* dict = mutable_container(top(), Kind::kDict, "SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) {
          dict->dict.emplace_back(items[i], items[i + 1]);
        }
        break;
      }
      case 'b': {  // BUILD: only the state dict's _metadata attribute, which is ignored
        pop();
        const Value* target = top();
        if (target->kind != Kind::kDict && target->kind != Kind::kTensor) {
          fail("BUILD on something other than the state dict or a tensor");
        }
        break;
      }
      case 'c': {  // GLOBAL
        const std::string module = line();
        const std::string name = line();
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const Value* name = pop();
        const Value* module = pop();
        if (name->kind != Kind::kString || module->kind != Kind::kString) {
          fail("STACK_GLOBAL needs two strings");
        }
        global(module->s, name->s);
        break;
      }
      case 'R':  // REDUCE
        reduce();
        break;
      case 'Q':  // BINPERSID
        persistent_load();
        break;
      case 'q':  // BINPUT
        memo_put(uint_le(1));
        break;
      case 'r':  // LONG_BINPUT
        memo_put(uint_le(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':  // BINGET
        memo_get(uint_le(1));
        break;
      case 'j':  // LONG_BINGET
        memo_get(uint_le(4));
        break;
      default: {
        static const char* hex = "0123456789abcdef";
        fail(std::string("unsupported pickle opcode 0x") + hex[op >> 4] + hex[op & 15] +
             " (not part of a torch state dict)");
      }
    }
  }
}

}  // namespace

StateDict unpickle_state_dict(std::span<const std::byte> pickle,
                              const std::map<std::string, std::span<const std::byte>>& storages,
                              const std::shared_ptr<const void>& owner, const std::string& source) {
  return Unpickler(pickle, storages, owner, source).run();
}

}  // namespace io

StateDict parse_torch_pickle(std::span<const std::byte> pickle,
                             const std::map<std::string, std::span<const std::byte>>& storages) {
  return io::unpickle_state_dict(pickle, storages, nullptr, "<data.pkl in memory>");
}

}  // namespace bertkit
