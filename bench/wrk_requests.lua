-- Replays pre-signed webhook requests, one per line of the file named by REQUESTS:
--   <path>\t<X-Twilio-Signature>\t<form body>
-- Each wrk thread starts at a different offset so threads do not send the same CallSid.
local requests = {}
local counter = 0

function init(args)
  local path = os.getenv("REQUESTS")
  for line in io.lines(path) do
    local p, sig, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", p, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig,
    }, body)
  end
  counter = math.random(#requests)
end

function request()
  counter = counter % #requests + 1
  return requests[counter]
end
