# A package config for the GoogleTest stand-in in include/ (see include/gtest/gtest.h), used by
# tools/gpu-check.sh on machines without GoogleTest: cmake -DGTest_DIR=<this folder> ...
if(NOT TARGET attnscope_minigtest)
  add_library(attnscope_minigtest INTERFACE)
  target_include_directories(attnscope_minigtest INTERFACE ${CMAKE_CURRENT_LIST_DIR}/include)
  add_library(attnscope_minigtest_main STATIC ${CMAKE_CURRENT_LIST_DIR}/gtest_main.cpp)
  target_link_libraries(attnscope_minigtest_main PUBLIC attnscope_minigtest)
  add_library(GTest::gtest ALIAS attnscope_minigtest)
  add_library(GTest::gtest_main ALIAS attnscope_minigtest_main)
endif()
set(GTest_FOUND TRUE)
