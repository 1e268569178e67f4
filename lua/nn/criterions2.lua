local nn = require 'nn' return nn
