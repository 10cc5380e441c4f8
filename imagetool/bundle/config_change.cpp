// The --change instructions. Shell forms become ["/bin/sh", "-c", TEXT] as Docker makes them;
// setting ENTRYPOINT drops an inherited CMD only in a Dockerfile build (Docker's commit keeps
// it), so it is kept here.
#include "imagetool/bundle/config_change.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace berth::image::bundle {
namespace {

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
        ++i;
    return s.substr(i);
}

Result<std::vector<std::string>> command(const std::string& what, const std::string& rest) {
    if (!rest.empty() && rest[0] == '[') {
        try {
            auto j = nlohmann::json::parse(rest);
            return j.get<std::vector<std::string>>();
        } catch (const std::exception&) {
            return error(what + ": not a JSON array of strings: " + rest);
        }
    }
    return std::vector<std::string>{"/bin/sh", "-c", rest};
}

// KEY=VALUE words; VALUE may be double-quoted (LABEL a="b c").
Result<std::vector<std::pair<std::string, std::string>>> pairs(const std::string& what,
                                                               const std::string& rest) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i])))
            ++i;
        if (i >= rest.size()) break;
        size_t eq = rest.find('=', i);
        size_t sp = rest.find_first_of(" \t", i);
        if (eq == std::string::npos || (sp != std::string::npos && sp < eq))
            return error(what + ": expected KEY=VALUE, got '" + rest.substr(i, sp - i) + "'");
        std::string key = rest.substr(i, eq - i);
        std::string val;
        i = eq + 1;
        if (i < rest.size() && rest[i] == '"') {
            ++i;
            while (i < rest.size() && rest[i] != '"') {
                if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
                val += rest[i++];
            }
            if (i >= rest.size()) return error(what + ": unterminated quote in '" + key + "'");
            ++i;
        } else {
            while (i < rest.size() && !std::isspace(static_cast<unsigned char>(rest[i])))
                val += rest[i++];
        }
        if (key.empty()) return error(what + ": empty key");
        out.emplace_back(key, val);
    }
    if (out.empty()) return error(what + ": expected KEY=VALUE");
    return out;
}

}  // namespace

Status apply_config_change(spec::ContainerConfig& cc, const std::string& change) {
    std::string line = trim(change);
    size_t sp = line.find_first_of(" \t");
    std::string word = line.substr(0, sp);
    std::string rest = sp == std::string::npos ? "" : trim(line.substr(sp));
    std::string upper = word;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return char(std::toupper(c)); });
    std::string what = "--change '" + line + "'";
    if (upper.empty()) return error("--change: empty instruction");
    if (rest.empty() && upper != "ENTRYPOINT" && upper != "CMD")
        return error(what + ": " + upper + " needs an argument");
    if (upper == "CMD") {
        cc.cmd = TRY(command(what, rest));
    } else if (upper == "ENTRYPOINT") {
        if (rest.empty() || rest == "[]")
            cc.entrypoint.reset();
        else
            cc.entrypoint = TRY(command(what, rest));
    } else if (upper == "ENV") {
        std::vector<std::pair<std::string, std::string>> kv;
        if (rest.find('=') == std::string::npos || rest.find_first_of(" \t") < rest.find('=')) {
            // The legacy form: ENV KEY VALUE...
            size_t s = rest.find_first_of(" \t");
            if (s == std::string::npos) return error(what + ": expected KEY=VALUE");
            kv.emplace_back(rest.substr(0, s), trim(rest.substr(s)));
        } else {
            kv = TRY(pairs(what, rest));
        }
        for (auto& [k, v] : kv) {
            std::string prefix = k + "=";
            auto it = std::find_if(cc.env.begin(), cc.env.end(),
                                   [&](const std::string& e) { return e.starts_with(prefix); });
            if (it != cc.env.end())
                *it = prefix + v;
            else
                cc.env.push_back(prefix + v);
        }
    } else if (upper == "LABEL") {
        for (auto& [k, v] : TRY(pairs(what, rest)))
            cc.labels[k] = v;
    } else if (upper == "WORKDIR") {
        cc.working_dir = rest;
    } else if (upper == "USER") {
        cc.user = rest;
    } else if (upper == "EXPOSE") {
        size_t i = 0;
        while (i < rest.size()) {
            size_t e = rest.find_first_of(" \t", i);
            std::string p = rest.substr(i, e - i);
            i = e == std::string::npos ? rest.size() : e + 1;
            if (p.empty()) continue;
            std::string port = p, proto = "tcp";
            if (auto sl = p.find('/'); sl != std::string::npos) {
                port = p.substr(0, sl);
                proto = p.substr(sl + 1);
            }
            bool digits = !port.empty() && std::all_of(port.begin(), port.end(), ::isdigit);
            if (!digits || port.size() > 5 || std::stoul(port) > 65535 ||
                (proto != "tcp" && proto != "udp" && proto != "sctp"))
                return error(what + ": bad port '" + p + "'");
            std::string key = port + "/" + proto;
            if (std::find(cc.exposed_ports.begin(), cc.exposed_ports.end(), key) ==
                cc.exposed_ports.end())
                cc.exposed_ports.push_back(key);
        }
    } else {
        return error(what + ": unknown instruction '" + word +
                     "' (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR)");
    }
    return ok();
}

}  // namespace berth::image::bundle
